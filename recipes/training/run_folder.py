"""The run folder: made before training, filled after it.

    runs/lstm-20261126-170000/
        config.json            the settings, written when the run starts
        encoder.json           the fitted encoder (`data.Encoder`)
        checkpoint/            what `--resume` continues from (`checkpoints.py`)
        history.csv            per epoch: loss, dev slot F1, seconds
        logs/                  TensorBoard logs
        model.keras            the best epoch's model, uncompiled (loads with `safe_mode=True`)
        test_predictions.txt   conlleval input: `word gold predicted`, a blank line between sentences
        per_slot.csv           precision, recall, F1 and support of every slot on test
        test_intents.txt       with an intent head: gold and predicted intent, a tab between, a line per test sentence
        per_intent.csv         with an intent head: precision, recall, F1 and support of every intent on test
        curves.png             loss and dev slot F1 by epoch
        metrics.json           written last: a run without it is unfinished

Every file is written whole or not at all (`data.atomic`). `config.json`,
`metrics.json` and `checkpoint/state.json` begin with their format and version,
`{"format": "slot-rnn-run-config", "version": 2, ...}`; they are read through
`recipes.config.formats.read_versioned`, which also reads the earlier versions.
"""

import contextlib
import csv
import datetime
import json
from pathlib import Path

from data.atomic import atomic_path, atomic_write_text
from recipes.config.errors import UsageError
from recipes.config.formats import RUN_CONFIG, stamped
from recipes.config.settings import as_config

RUN_FILES = ("model.keras", "encoder.json", "metrics.json", "history.csv", "test_predictions.txt")


def default_path(recipe_name):
    """A new folder name for a run: `runs/<recipe>-<date>-<time>`, with a number added if it is taken."""
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    path = Path("runs") / f"{recipe_name}-{stamp}"
    suffix = 1
    while path.exists():
        suffix += 1
        path = Path("runs") / f"{recipe_name}-{stamp}-{suffix}"
    return path


def create(recipe_name, output_dir=None, resume=False):
    """The run folder: `--output-dir`, or a new `runs/<recipe>-<time>` folder."""
    if output_dir is None:
        if resume:
            raise UsageError("--resume needs --output-dir naming the run to continue")
        output_dir = default_path(recipe_name)
    path = Path(output_dir)
    if path.exists() and not path.is_dir():
        raise UsageError(f"--output-dir {output_dir}: exists and is not a folder")
    if not resume and (path / "metrics.json").exists():
        raise UsageError(f"--output-dir {output_dir}: already holds a finished run; choose another folder")
    if resume and not (path / "checkpoint" / "state.json").is_file():
        raise UsageError(f"--output-dir {output_dir}: no unfinished run to resume (checkpoint/state.json is missing)")
    try:
        path.mkdir(parents=True, exist_ok=True)
        probe = path / ".write-test"
        probe.write_text("")
        probe.unlink()
    except OSError as error:
        raise UsageError(f"--output-dir {output_dir}: cannot write there ({error.strerror or error})")
    return path


def start(run_dir, recipe_name, settings, encoder):
    """What a run folder holds from the start: `encoder.json` and `config.json` (the settings)."""
    encoder.save(run_dir / "encoder.json")
    write_json(run_dir / "config.json", stamped(RUN_CONFIG, {"recipe": recipe_name, **as_config(settings)}))


def finish(run_dir, model, test_split, test_predictions, test_scores, metrics):
    """What a finished run adds: the model, its test predictions (`recipes.inference.tagger.Predictions`),
    per-slot (and per-intent) scores, the curves, and `metrics.json` last (a run
    folder without it is unfinished; `metrics` as `recipe.run_metrics` stamps them)."""
    save_model(model, run_dir / "model.keras")
    write_predictions(run_dir / "test_predictions.txt", test_split, test_predictions.tags)
    write_csv(run_dir / "per_slot.csv", test_scores["per_slot"])
    if "per_intent" in test_scores:
        write_intents(run_dir / "test_intents.txt", test_split.intents, test_predictions.intents)
        write_csv(run_dir / "per_intent.csv", test_scores["per_intent"])
    plot_curves(run_dir / "history.csv", run_dir / "curves.png")
    write_json(run_dir / "metrics.json", metrics)


def write_csv(path, table):
    """A pandas table as CSV, written whole or not at all."""
    atomic_write_text(path, table.to_csv(index=False))


def write_intents(path, gold, predicted):
    """The gold and the predicted intent, a tab between them, one line per test sentence, in corpus order."""
    atomic_write_text(path, "".join(f"{g}\t{p}\n" for g, p in zip(gold, predicted)))


def write_predictions(path, split, predicted):
    """conlleval input: `word gold predicted` per line, a blank line between sentences."""
    lines = []
    for words, gold, tags in zip(split.words, split.tags, predicted):
        lines.extend(f"{w} {g} {p}" for w, g, p in zip(words, gold, tags))
        lines.append("")
    atomic_write_text(path, "\n".join(lines) + "\n")


def plot_curves(history_csv, path):
    """Loss and dev slot F1 by epoch, from `history.csv`, as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    with open(history_csv, newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    if not rows:
        return
    epochs = [int(row["epoch"]) + 1 for row in rows]
    figure, (left, right) = plt.subplots(1, 2, figsize=(9, 3.5))
    left.plot(epochs, [float(row["loss"]) for row in rows], marker="o")
    left.set(xlabel="epoch", ylabel="training loss", title="Loss")
    curves = [("val_slot_f1", "slot F1", "tab:green")]
    if "val_frame_accuracy" in rows[0]:
        curves += [
            ("val_intent_accuracy", "intent accuracy", "tab:orange"),
            ("val_frame_accuracy", "frame accuracy", "tab:red"),
        ]
    for key, label, color in curves:
        right.plot(epochs, [float(row[key]) for row in rows], marker="o", color=color, label=label)
    if len(curves) > 1:
        right.legend()
    right.set(xlabel="epoch", ylabel="dev score", title="Dev scores")
    figure.tight_layout()
    with atomic_path(path) as temporary:
        figure.savefig(temporary, format="png", dpi=100)
    plt.close(figure)


def save_model(model, path):
    """Saves a Keras model whole or not at all."""
    with atomic_path(path) as temporary:
        model.save(temporary)


def write_json(path, value):
    atomic_write_text(path, json.dumps(value, indent=2))


def history_rows(path):
    """How many epochs `history.csv` logs (0 when it is absent)."""
    with contextlib.suppress(OSError):
        with open(path, encoding="utf-8") as handle:
            return max(sum(1 for _ in handle) - 1, 0)
    return 0


def trim_history(path, epochs):
    """Keeps the header and the first `epochs` rows of `history.csv`."""
    path = Path(path)
    if path.is_file():
        lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
        if len(lines) > epochs + 1:
            atomic_write_text(path, "".join(lines[: epochs + 1]))
