"""What a shorter early-stopping patience would have kept, replayed on finished runs.

A run is the same epoch for epoch until it stops (the seed fixes weights,
shuffling and dropout), so the dev scores a run logged with patience P tell
exactly where every patience up to P would have stopped and which epoch it
would have kept (`recipes.training.monitor.replay_early_stopping`, the rule
training itself follows). This reads run folders (`config.json`,
`history.csv`, `metrics.json`) and writes, for each dataset, recipe and
patience, the epoch each run would keep, its dev score, and the epochs and
seconds it would train:

    python -m benchmarks.quality --data ../shared/datasets/atis --recipes lstm --seeds 3 --runs-dir runs/q_atis
    python -m benchmarks.patience runs/q_atis runs/q_snips --patience 2,3,4,5 --output benchmarks/results/patience_lstm

Arguments are run folders or folders of run folders. The test scores of an
epoch other than the one a run kept are not in its folder: where a shorter
patience keeps another epoch, train with it to know them.
"""

import argparse
import statistics
import sys
from pathlib import Path

import pandas as pd

from benchmarks.reporting import RESULTS_DIR, Column, save_table
from data.command_line import Parser, UsageError, command
from recipes.config.formats import METRICS, RUN_CONFIG, read_versioned
from recipes.training.monitor import replay_early_stopping

PROG = "python -m benchmarks.patience"
RUN_FILES = ("config.json", "history.csv", "metrics.json")


class BadRun(UsageError):
    """A run folder this benchmark cannot replay (bad input: exit status 2)."""


def run_folders(paths):
    """The run folders among `paths` and their direct subfolders, in name order."""
    found = []
    for path in map(Path, paths):
        if not path.is_dir():
            raise BadRun(f"{path}: not a folder")
        if (path / "config.json").is_file():
            found.append(path)
            continue
        inside = sorted(child for child in path.iterdir() if (child / "config.json").is_file())
        if not inside:
            raise BadRun(f"{path}: neither a run folder nor a folder of run folders (no config.json)")
        found.extend(inside)
    return found


def read_run(folder):
    """A run's settings, logged dev scores and epoch seconds, checked against its own stop."""
    for name in RUN_FILES:
        if not (folder / name).is_file():
            raise BadRun(f"{folder / name}: missing (the run has not finished?)")
    try:
        config = read_versioned(folder / "config.json", RUN_CONFIG)
        metrics = read_versioned(folder / "metrics.json", METRICS)
    except UsageError as error:
        raise BadRun(str(error)) from None
    for path, saved, keys in (
        (folder / "config.json", config, ("data", "patience")),
        (folder / "metrics.json", metrics, ("best_epoch", "epochs")),
    ):
        for key in keys:
            if key not in saved:
                raise BadRun(f"{path}: {key!r} is missing")
    try:
        history = pd.read_csv(folder / "history.csv")
    except (OSError, ValueError) as error:
        raise BadRun(f"{folder / 'history.csv'}: cannot read ({error})") from None
    column = f"val_{config.get('monitor', 'slot_f1')}"
    for name in (column, "seconds"):
        if name not in history.columns:
            raise BadRun(f"{folder / 'history.csv'}: no {name!r} column")
    scores = history[column].astype(float).tolist()
    replayed = replay_early_stopping(scores, config["patience"])
    if replayed != (metrics["best_epoch"], metrics["epochs"]):
        raise BadRun(
            f"{folder / 'history.csv'}: replaying patience {config['patience']} gives best epoch {replayed[0]} "
            f"of {replayed[1]}, the run says {metrics['best_epoch']} of {metrics['epochs']} (resumed with other "
            "settings, or trained before this rule?)"
        )
    return {
        "folder": folder,
        "data": Path(str(config["data"])).name,
        "recipe": metrics.get("recipe", config.get("recipe", "?")),
        "seed": config.get("seed", 0),
        "monitor": column,
        "patience": config["patience"],
        "scores": scores,
        "seconds": history["seconds"].astype(float).tolist(),
    }


def patience_list(text):
    try:
        values = sorted({int(part) for part in text.split(",") if part.strip()})
    except ValueError:
        values = []
    if not values or values[0] < 1:
        raise argparse.ArgumentTypeError(f"expected positive integers separated by commas, got {text!r}")
    return values


def parse_args(argv):
    parser = Parser(prog=PROG, description=__doc__.split("\n")[0])
    parser.add_argument("runs", nargs="+", help="run folders, or folders of run folders")
    parser.add_argument("--patience", type=patience_list, default=[2, 3, 4, 5], help="patiences to replay: 2,3,4,5")
    parser.add_argument("--output", default=str(RESULTS_DIR / "patience"), help="table path without extension")
    return parser.parse_args(argv)


def replay_rows(runs, patiences):
    """One row per dataset, recipe and patience, its runs in seed order."""
    groups = {}
    for run in sorted(runs, key=lambda run: (run["data"], run["recipe"], run["seed"])):
        groups.setdefault((run["data"], run["recipe"]), []).append(run)
    rows = []
    for (data, recipe), group in groups.items():
        full = [replay_early_stopping(run["scores"], run["patience"]) for run in group]
        for patience in patiences:
            kept, trained, dev, seconds = [], [], [], []
            for run in group:
                best_epoch, epochs = replay_early_stopping(run["scores"], patience)
                kept.append(best_epoch)
                trained.append(epochs)
                dev.append(run["scores"][best_epoch - 1])
                seconds.append(sum(run["seconds"][:epochs]))
            rows.append(
                {
                    "data": data,
                    "recipe": recipe,
                    "patience": patience,
                    "runs": len(group),
                    "kept_epochs": " ".join(map(str, kept)),
                    "epochs_trained": " ".join(map(str, trained)),
                    "same_epoch": sum(k == f[0] for k, f in zip(kept, full)),
                    "dev_mean": 100 * statistics.mean(dev),
                    "dev_change": 100
                    * statistics.mean(d - run["scores"][f[0] - 1] for d, run, f in zip(dev, group, full)),
                    "epochs_mean": statistics.mean(trained),
                    "seconds_mean": statistics.mean(seconds),
                    "time_share": sum(seconds) / sum(sum(run["seconds"][: f[1]]) for run, f in zip(group, full)),
                }
            )
    return rows


COLUMNS = [
    Column("data", "data", align_right=False),
    Column("recipe", "recipe", align_right=False),
    Column("patience", "patience"),
    Column("runs", "runs"),
    Column("kept_epochs", "epoch kept, per seed", align_right=False),
    Column("epochs_trained", "epochs trained, per seed", align_right=False),
    Column("same_epoch", "runs keeping the trained run's epoch"),
    Column("dev_mean", "dev score kept, mean", "{:.2f}"),
    Column("dev_change", "against the trained patience", "{:+.2f}"),
    Column("epochs_mean", "epochs, mean", "{:.1f}"),
    Column("seconds_mean", "epoch seconds, mean", "{:.1f}"),
    Column("time_share", "of the trained runs' epoch time", "{:.0%}"),
]


@command(PROG)
def main(argv=None):
    args = parse_args(argv)
    runs = [read_run(folder) for folder in run_folders(args.runs)]
    too_long = [run for run in runs if run["patience"] < args.patience[-1]]
    if too_long:
        run = too_long[0]
        raise BadRun(
            f"--patience {args.patience[-1]}: {run['folder']} trained with patience "
            f"{run['patience']}, so it cannot tell where a longer one would stop"
        )
    monitors = sorted({run["monitor"] for run in runs})
    invoked = f"{PROG} " + " ".join(argv if argv is not None else sys.argv[1:])
    notes = [
        f"command: `{invoked}`",
        f"{len(runs)} run folder(s); dev score: {', '.join(monitors)} in percent, of the epoch each patience keeps; "
        "against the trained patience: its mean change from the epoch the run itself kept",
        "epoch seconds: the training epochs until the stop, from history.csv (the first with the training step's "
        "compiles; the dev scoring after each epoch left out)",
    ]
    output = Path(args.output)
    output.parent.mkdir(parents=True, exist_ok=True)
    print(
        save_table(
            output, "Early stopping replayed with shorter patience", COLUMNS, replay_rows(runs, args.patience), notes
        )
    )


if __name__ == "__main__":
    main()
