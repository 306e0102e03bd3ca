"""Test slot F1 of every recipe over several seeds, as a table; with intents also intent and frame accuracy.

Runs each recipe (bidirectional, its default settings unless flags add more)
once per seed as `python -m recipes.<name> --seed S`, reads each run folder's
`metrics.json`, and writes the mean and standard deviation of the test F1,
the runs' test F1 in seed order and the mean dev F1, with training time and
epochs, to `<output>.csv` and `<output>.md`. Where the runs have an intent head
and the data intents (their `metrics.json` holds `intent_accuracy` and
`frame_accuracy`: the intent and every tag of a sentence right), the table
gives the same for the test intent and frame accuracy, and their dev means;
on data without intents those columns are left out. Two columns give the time
to accuracy, from each run folder's `history.csv` (the seconds of every
training epoch, the dev scoring after it left out): the seconds until dev slot
F1 first reached `--target-f1` (0.97 unless told; blank for a recipe where a
seed never did) and until the best epoch:

    python -m benchmarks.quality --data ../shared/datasets/atis --seeds 3
    python -m benchmarks.quality --data atis --recipes lstm,gru --seeds 3 -- --head crf

Flags after `--` go to every recipe. `--jobs N` runs N trainings at once
(each trains on its own; on a two-core laptop keep the default of 1, since
parallel runs then slow each other and their times stop being comparable).
"""

import argparse
import concurrent.futures
import importlib
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd

from benchmarks.reporting import Column, save_table
from data.command_line import CommandError, Parser, RunFailed, UsageError, command
from recipes.config.formats import METRICS, RUN_CONFIG, read_versioned, without_stamp

PROG = "python -m benchmarks.quality"
REPO_ROOT = Path(__file__).resolve().parent.parent

RECIPES = ("elman", "jordan", "lstm", "peephole_lstm", "gru", "feedforward")
# config.json keys that do not change what a run computes.
RUN_ONLY_KEYS = {"recipe", "data", "output_dir", "verbose", "resume"}
# The scores of a split in metrics.json that the table reports, with their names; the last two only
# where the run has an intent head and the data intents.
SCORES = {"f1": "F1", "intent_accuracy": "intent accuracy", "frame_accuracy": "frame accuracy"}
INTENT_SCORES = ("intent_accuracy", "frame_accuracy")
TARGET_F1 = 0.97  # the dev slot F1 whose time to reach the table reports


class StaleRun(UsageError):
    """A finished run folder whose settings differ from the ones asked for, or whose files cannot be
    read (bad input: exit status 2)."""


def expected_config(name, seed, args):
    """The settings `python -m recipes.<name>` would train with, as its config.json records them."""
    from recipes.config import flags, settings

    module = importlib.import_module(f"recipes.{name}")
    parsed = flags.parse_settings(
        ["--data", args.data, "--seed", str(seed), *args.extra], f"python -m recipes.{name}", "", module.DEFAULTS
    )
    return json.loads(json.dumps(settings.as_config(parsed)))


def read_run_file(path, file_format):
    """A run folder's `config.json` or `metrics.json` at its current version
    (`recipes.config.formats`); `StaleRun` in one line naming the file when it cannot be read."""
    try:
        return read_versioned(path, file_format)
    except UsageError as error:
        raise StaleRun(str(error)) from None


def check_reused_run(run_dir, name, seed, args):
    """A finished run is reused only if it trained the configuration asked for
    now: same dataset, same settings (recipe defaults included)."""
    saved = without_stamp(read_run_file(run_dir / "config.json", RUN_CONFIG))
    wanted = expected_config(name, seed, args)
    differ = sorted(key for key in (set(saved) | set(wanted)) - RUN_ONLY_KEYS if saved.get(key) != wanted.get(key))
    if Path(str(saved.get("data"))).name != Path(args.data).name:
        differ.insert(0, "data")
    if differ:
        details = ", ".join(f"{key} {saved.get(key)!r} (now {wanted.get(key)!r})" for key in differ)
        raise StaleRun(
            f"{run_dir} holds a finished run with other settings: {details}; "
            "remove it or choose another --runs-dir or --label"
        )


def parse_args(argv):
    parser = Parser(prog=PROG, description=__doc__.split("\n")[0])
    parser.add_argument("--data", required=True, help="dataset source, as the recipes take it")
    parser.add_argument("--recipes", default=",".join(RECIPES), help="comma-separated recipe names")
    parser.add_argument("--seeds", type=int, default=3, help="seeds 0..N-1 per recipe")
    parser.add_argument("--jobs", type=int, default=1, help="trainings run at once")
    parser.add_argument("--runs-dir", default="runs/quality", help="where the run folders go")
    parser.add_argument(
        "--output", default=str(REPO_ROOT / "benchmarks" / "results" / "quality"), help="table path without extension"
    )
    parser.add_argument("--label", default="", help="a name for this configuration in the table")
    parser.add_argument(
        "--target-f1",
        type=float,
        default=TARGET_F1,
        help=f"the dev slot F1 (0 to 1) whose time to reach the table reports (default: {TARGET_F1})",
    )
    parser.add_argument("extra", nargs=argparse.REMAINDER, help="flags after -- go to every recipe")
    args = parser.parse_args(argv)
    args.recipes = [name for name in args.recipes.split(",") if name]
    unknown = sorted(set(args.recipes) - set(RECIPES))
    if unknown:
        raise UsageError(f"argument --recipes: unknown recipe(s) {', '.join(unknown)}")
    if args.seeds < 1 or args.jobs < 1:
        raise UsageError("argument --seeds/--jobs: expected a positive integer")
    if not 0.0 < args.target_f1 <= 1.0:
        raise UsageError(f"argument --target-f1: expected a number in (0, 1], got {args.target_f1:g}")
    args.extra = [flag for flag in args.extra if flag != "--"]
    return args


def train_one(name, seed, args):
    suffix = f"-{args.label}" if args.label else ""
    run_dir = Path(args.runs_dir) / f"{name}{suffix}-seed{seed}"
    metrics_path = run_dir / "metrics.json"
    reused = metrics_path.is_file()
    if reused:
        check_reused_run(run_dir, name, seed, args)
    else:
        recipe_argv = [
            sys.executable,
            "-m",
            f"recipes.{name}",
            "--data",
            args.data,
            "--seed",
            str(seed),
            "--output-dir",
            str(run_dir),
            "--verbose",
            "0",
            *args.extra,
        ]
        log = Path(args.runs_dir) / f"{name}{suffix}-seed{seed}.log"
        log.parent.mkdir(parents=True, exist_ok=True)
        with open(log, "w", encoding="utf-8") as handle:
            completed = subprocess.run(recipe_argv, cwd=REPO_ROOT, stdout=handle, stderr=subprocess.STDOUT)
        if completed.returncode != 0:
            raise RunFailed(f"{' '.join(recipe_argv)} failed with code {completed.returncode}; see {log}")
    metrics = read_run_file(metrics_path, METRICS)
    metrics.update(time_to_accuracy(run_dir / "history.csv", metrics["best_epoch"], args.target_f1))
    return name, seed, metrics, reused


def time_to_accuracy(history_path, best_epoch, target_f1):
    """Seconds of training epochs until dev slot F1 first reached `target_f1` (None if it never
    did) and until the end of epoch `best_epoch`, from a run's `history.csv`."""
    history = pd.read_csv(history_path)
    elapsed = history["seconds"].cumsum()
    reached = history.index[history["val_slot_f1"] >= target_f1]
    return {
        "seconds_to_target": float(elapsed[reached[0]]) if len(reached) else None,
        "seconds_to_best": float(elapsed[best_epoch - 1]),
    }


def percents(runs, split, key):
    """The runs' `split` score `key` in percent, in seed order; None where a run lacks it."""
    values = [run.get(split, {}).get(key) for run in runs]
    return None if any(value is None for value in values) else [100 * value for value in values]


def score_cells(runs, key):
    """A recipe's cells for one score: test mean, std and per seed, and the dev mean (None where missing)."""
    name = "test_f1" if key == "f1" else f"test_{key}"
    dev_name = "dev_f1" if key == "f1" else f"dev_{key}"
    test, dev = percents(runs, "test", key), percents(runs, "dev", key)
    return {
        f"{name}_mean": round(statistics.mean(test), 2) if test else None,
        f"{name}_std": (round(statistics.stdev(test), 2) if len(test) > 1 else 0.0) if test else None,
        f"{name}_runs": " ".join(f"{value:.2f}" for value in test) if test else None,
        f"{dev_name}_mean": round(statistics.mean(dev), 2) if dev else None,
    }


def mean_or_none(values):
    """The mean to 0.1, or None where any value is None (a seed that never reached the target)."""
    return None if any(value is None for value in values) else round(statistics.mean(values), 1)


def columns(with_intents):
    """The table's columns; the intent and frame accuracy ones `with_intents` only."""
    test, dev = [], []
    for key in SCORES if with_intents else ("f1",):
        name = "test_f1" if key == "f1" else f"test_{key}"
        title = SCORES[key]
        test += [
            Column(f"{name}_mean", f"test {title} mean", "{:.2f}"),
            Column(f"{name}_std", "std", "{:.2f}"),
            Column(f"{name}_runs", f"test {title} per seed", align_right=False),
        ]
        dev.append(Column(f"dev_{key}_mean", f"dev {title} mean", "{:.2f}"))
    return [*COLUMNS[:3], *test, *dev, *COLUMNS[3:]]


COLUMNS = [  # without the scores, which `columns` adds after "seeds"
    Column("recipe", "recipe", align_right=False),
    Column("config", "config", align_right=False),
    Column("seeds", "seeds"),
    Column("epochs_mean", "epochs", "{:.1f}"),
    Column("train_seconds_mean", "train s", "{:.1f}"),
    Column("seconds_to_target_mean", "s to dev F1 target", "{:.1f}"),
    Column("seconds_to_best_mean", "s to best epoch", "{:.1f}"),
    Column("parameters", "parameters", "{:,}"),
    Column("backend", "backend", align_right=False),
    Column("devices", "devices", align_right=False),
]


@command(PROG)
def main(argv=None):
    args = parse_args(argv)
    started = time.perf_counter()
    jobs = [(name, seed) for name in args.recipes for seed in range(args.seeds)]
    results = []
    reused_count = 0
    with concurrent.futures.ThreadPoolExecutor(max_workers=args.jobs) as pool:
        futures = [pool.submit(train_one, name, seed, args) for name, seed in jobs]
        for future in concurrent.futures.as_completed(futures):
            try:
                name, seed, metrics, reused = future.result()
            except CommandError:
                # A stale run folder or a training that failed: the trainings not yet started never start.
                for pending in futures:
                    pending.cancel()
                raise
            intent = "".join(
                f", {SCORES[key]} {100 * metrics['test'][key]:.2f}" for key in INTENT_SCORES if key in metrics["test"]
            )
            print(
                f"{name} seed {seed}: test F1 {100 * metrics['test']['f1']:.2f}{intent} "
                f"(dev F1 {100 * metrics['dev']['f1']:.2f}, {metrics['epochs']} epochs, "
                f"{metrics['train_seconds']:.0f} s)",
                flush=True,
            )
            results.append((name, seed, metrics))
            reused_count += reused

    rows = []
    for name in args.recipes:
        runs = [metrics for recipe, _, metrics in sorted(results, key=lambda r: r[1]) if recipe == name]
        rows.append(
            {
                "recipe": name,
                "config": args.label or "default",
                "seeds": len(runs),
                **{cell: value for key in SCORES for cell, value in score_cells(runs, key).items()},
                "epochs_mean": round(statistics.mean(m["epochs"] for m in runs), 1),
                "train_seconds_mean": round(statistics.mean(m["train_seconds"] for m in runs), 1),
                "seconds_to_target_mean": mean_or_none([m["seconds_to_target"] for m in runs]),
                "seconds_to_best_mean": mean_or_none([m["seconds_to_best"] for m in runs]),
                "parameters": runs[0]["parameters"],
                "backend": runs[0]["backend"],
                "devices": " ".join(m.get("device", "?") for m in runs),
            }
        )
    invoked = f"{PROG} " + " ".join(argv if argv is not None else sys.argv[1:])
    notes = [
        f"command: `{invoked}`",
        f"data: {args.data}; {os.cpu_count()} CPU cores visible; wall time "
        f"{time.perf_counter() - started:.0f} s with {args.jobs} job(s) at once",
        f"{len(results) - reused_count} run(s) trained now, {reused_count} finished run folder(s) in "
        f"{args.runs_dir} reused after checking their settings; devices: where each run trained, in seed order",
        f"s to dev F1 target: mean seconds of training epochs until dev slot F1 first reached {args.target_f1:g} "
        "(blank where a seed never did); s to best epoch: the same until the end of the best epoch; both from "
        "history.csv, without the dev scoring after each epoch, which train s includes",
    ]
    with_intents = any(key in metrics["test"] for _, _, metrics in results for key in INTENT_SCORES)
    title = "Test slot F1, intent accuracy and frame accuracy over seeds" if with_intents else "Test slot F1 over seeds"
    if with_intents:
        notes.append(
            "scores in percent; frame accuracy: sentences with the intent and every tag right; "
            "blank where a recipe's runs have no intent head"
        )
    output = Path(args.output)
    output.parent.mkdir(parents=True, exist_ok=True)
    print(save_table(output, title, columns(with_intents), rows, notes))


if __name__ == "__main__":
    main()
