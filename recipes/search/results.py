"""The results of a search: trials read back, `results.csv`, `results.md`, `search.png`, the best trial.

    trials = load_trials(project_dir, tuner.oracle)   # through keras-tuner's API where the oracle is here
    write_tables(project_dir, trials)                  # results.csv (trial order), results.md (best first)
    write_tables(project_dir, trials, objective="val_frame_accuracy")   # ranked by the search's own objective
    plot_search(results_table(trials), cells, project_dir / "search.png")

A process that has the oracle (a single-process search, the chief) reads the
trials through keras-tuner's public API (`oracle.trials`); one that has only
a client of it (a worker) or none (the process that launched a distributed
search) reads the trial files keras-tuner writes in the search folder.
"""

import json
import math
import time
from pathlib import Path

import keras_tuner
import numpy as np
import pandas as pd

from data.atomic import atomic_path, atomic_write_text
from recipes.config.settings import MODEL_OPTIONS, OPTIONS, SEARCHED, TUNER_OPTIONS
from recipes.training.tables import Column, markdown_table

# Hyperparameters only some searches have (the intent loss's weight: an intent head on data with intents):
# a column only where a trial has a value.
OPTIONAL_HYPERPARAMETERS = tuple(name for name in SEARCHED if OPTIONS[name].search.only_with_intents)
# A trial's hyperparameters, in the order they are declared on keras-tuner's space (the order its seeded
# sampling draws them in) and results.csv shows them: the cell, the searched options, the fixed model
# options, then what only models with an intent head search.
HYPERPARAMETERS = (
    "cell",
    *(name for name in SEARCHED if name not in OPTIONAL_HYPERPARAMETERS),
    *(name for name in TUNER_OPTIONS if name in MODEL_OPTIONS and name not in SEARCHED),
    *OPTIONAL_HYPERPARAMETERS,
)
# The dev scores of a trial's best epoch; the objective is one of them (keras-tuner's score).
DEV_SCORES = ("val_slot_f1", "val_intent_accuracy", "val_frame_accuracy")
OBJECTIVE_NAMES = {
    "val_slot_f1": "dev slot F1",
    "val_intent_accuracy": "dev intent accuracy",
    "val_frame_accuracy": "dev frame accuracy",
}
OBJECTIVE_NOTES = {"val_slot_f1": ", conlleval", "val_frame_accuracy": ": the intent and every tag right"}
# What each trial reports besides its scores (mean over --executions-per-trial).
TRIAL_METRICS = ("best_epoch", "epochs", "parameters", "train_seconds")


def _trial_sort_key(trial_id):
    return (0, int(trial_id), "") if str(trial_id).isdigit() else (1, 0, str(trial_id))


def _last_line(message):
    message = (message or "").strip()
    return message.splitlines()[-1] if message else ""


def load_trials(project_dir, oracle=None):
    """Every trial of a search, from `oracle` when it is keras-tuner's own
    `Oracle`, else from the search folder's `trial_*/trial.json`.

    Returns dicts with `trial_id`, `values` (hyperparameters), `score`
    (the objective's value, `val_slot_f1` or `val_frame_accuracy`, or None), `metrics` (the last value of each reported metric),
    `status` and `error` (the last line of a failure's message), in trial order.
    """
    if isinstance(oracle, keras_tuner.Oracle):
        return trials_from_oracle(oracle)
    trials = []
    for path in Path(project_dir).glob("trial_*/trial.json"):
        state = None
        for _ in range(5):  # the oracle may be rewriting the file this very moment
            try:
                state = json.loads(path.read_text(encoding="utf-8"))
                break
            except (OSError, ValueError):
                time.sleep(0.1)
        if not isinstance(state, dict) or "trial_id" not in state:
            continue
        metrics = {}
        for name, history in ((state.get("metrics") or {}).get("metrics") or {}).items():
            observations = history.get("observations") or []
            if observations and observations[-1].get("value"):
                metrics[name] = observations[-1]["value"][-1]
        trials.append(
            {
                "trial_id": str(state["trial_id"]),
                "values": (state.get("hyperparameters") or {}).get("values") or {},
                "score": state.get("score"),
                "metrics": metrics,
                "status": state.get("status"),
                "error": _last_line(state.get("message")),
            }
        )
    return sorted(trials, key=lambda trial: _trial_sort_key(trial["trial_id"]))


def trials_from_oracle(oracle):
    """The trials of a `keras_tuner.Oracle`, as `load_trials` returns them."""
    trials = []
    for trial in oracle.trials.values():
        tracker = trial.metrics
        metrics = {name: tracker.get_last_value(name) for name in tracker.metrics}
        trials.append(
            {
                "trial_id": str(trial.trial_id),
                "values": dict(trial.hyperparameters.values),
                "score": trial.score,
                "metrics": {name: value for name, value in metrics.items() if value is not None},
                "status": trial.status,
                "error": _last_line(trial.message),
            }
        )
    return sorted(trials, key=lambda trial: _trial_sort_key(trial["trial_id"]))


def results_table(trials, objective="val_slot_f1"):
    """One row per trial: `trial_id`, every hyperparameter, the dev scores
    (`val_slot_f1`, and where trials report them `val_intent_accuracy` and
    `val_frame_accuracy`; the objective's column holds keras-tuner's score),
    `best_epoch`, `epochs`, `parameters`, `train_seconds`, `status`, `error`."""
    named = {name for trial in trials for name in trial["values"]}
    hyperparameters = [name for name in HYPERPARAMETERS if name not in OPTIONAL_HYPERPARAMETERS or name in named]
    extra = sorted(named - set(HYPERPARAMETERS))
    reported = {name for trial in trials for name in trial["metrics"]}
    scores = [name for name in DEV_SCORES if name in ("val_slot_f1", objective) or name in reported]
    columns = ["trial_id", *hyperparameters, *extra, *scores, *TRIAL_METRICS, "status", "error"]
    rows = []
    for trial in trials:
        completed = trial["status"] == "COMPLETED"
        row = {"trial_id": trial["trial_id"], **trial["values"]}
        row.update({name: trial["metrics"].get(name) if completed else None for name in scores})
        row[objective] = trial["score"] if completed else None
        row.update({name: trial["metrics"].get(name) if completed else None for name in TRIAL_METRICS})
        row["status"], row["error"] = trial["status"], trial["error"]
        rows.append(row)
    table = pd.DataFrame(rows, columns=columns)
    for name in ("depth", "units", "embedding_dim", "window", "best_epoch", "epochs", "parameters"):
        numbers = pd.to_numeric(table[name], errors="coerce")
        if numbers.dropna().apply(lambda number: float(number).is_integer()).all():
            table[name] = numbers.round().astype("Int64")
    return table


def ranked(table, objective="val_slot_f1"):
    """Completed trials first, best objective (dev slot F1 by default) first, then by trial order."""
    scores = table[objective]
    order = sorted(
        range(len(table)),
        key=lambda i: (
            pd.isna(scores.iloc[i]),
            -(scores.iloc[i] if pd.notna(scores.iloc[i]) else 0.0),
            _trial_sort_key(table["trial_id"].iloc[i]),
        ),
    )
    return table.iloc[order]


def _cell_format(name):
    if name in DEV_SCORES:
        return "{:.4f}".format
    if name == "parameters":
        return lambda value: f"{int(value):,}"
    return lambda value: f"{value:.4g}" if isinstance(value, (float, np.floating)) else str(value)


def results_markdown(table):
    """`table` (a DataFrame) as a Markdown table; missing values stay empty."""
    numeric = {
        name
        for name in table.columns
        if pd.api.types.is_numeric_dtype(table[name]) and not pd.api.types.is_bool_dtype(table[name])
    }
    columns = [Column(name, name, _cell_format(name), align_right=name in numeric) for name in table.columns]
    rows = [
        {name: (None if not isinstance(value, str) and pd.isna(value) else value) for name, value in row.items()}
        for row in table.to_dict("records")
    ]
    return markdown_table(columns, rows)


def write_tables(project_dir, trials, best_run=None, objective="val_slot_f1"):
    """Writes `results.csv` (trial order) and `results.md` (best first by `objective`).

    `best_run`: the retrained best configuration, `{"run_dir", "dev_f1", "test_f1"}` and,
    where it has an intent head, `test_intent_accuracy` and `test_frame_accuracy`."""
    project_dir = Path(project_dir)
    table = results_table(trials, objective)
    atomic_write_text(project_dir / "results.csv", table.to_csv(index=False))
    counts = table["status"].value_counts()
    summary = ", ".join(f"{counts[status]} {status.lower()}" for status in counts.index) or "none yet"
    lines = [
        f"# Search {project_dir.name}",
        "",
        f"Objective: {OBJECTIVE_NAMES[objective]} (`{objective}`{OBJECTIVE_NOTES.get(objective, '')}) "
        f"of each trial's best epoch, maximised. Trials: {len(table)} ({summary}).",
    ]
    if best_run:
        scores = f"dev slot F1 {best_run['dev_f1']:.4f}, test slot F1 {best_run['test_f1']:.4f}"
        if best_run.get("test_intent_accuracy") is not None:
            scores += (
                f", test intent accuracy {best_run['test_intent_accuracy']:.4f}, "
                f"test frame accuracy {best_run['test_frame_accuracy']:.4f}"
            )
        lines.append(f"Best configuration retrained: `{best_run['run_dir']}` ({scores}).")
    shown = ranked(table, objective)
    if not shown["error"].astype(bool).any():
        shown = shown.drop(columns="error")
    lines += ["", results_markdown(shown), ""]
    atomic_write_text(project_dir / "results.md", "\n".join(lines))
    return table


def plot_search(table, cells, path, objective="val_slot_f1"):
    """The objective (dev slot F1 by default) against layer width, coloured by depth,
    one panel per cell (circles: both directions, triangles: one). Returns the panel titles."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    done = table[table["status"] == "COMPLETED"]
    depths = sorted(int(depth) for depth in done["depth"].dropna().unique())
    colours = {depth: plt.get_cmap("viridis")(i / max(len(depths) - 1, 1)) for i, depth in enumerate(depths)}
    figure, axes = plt.subplots(1, len(cells), figsize=(3.3 * len(cells) + 0.7, 3.6), sharey=True, squeeze=False)
    for axis, cell in zip(axes[0], cells):
        rows = done[done["cell"] == cell]
        for (depth, both), group in rows.groupby(["depth", "bidirectional"], sort=True):
            axis.scatter(
                group["units"].astype(float),
                group[objective].astype(float),
                color=colours[int(depth)],
                marker="o" if both else "^",
                s=36,
                label=f"depth {int(depth)}, {'both directions' if both else 'one direction'}",
            )
        axis.set_xscale("log", base=2)
        axis.set(title=cell, xlabel="units per layer and direction")
        if len(rows):
            axis.legend(fontsize=7, loc="lower right")
        else:
            axis.text(0.5, 0.5, "no finished trial", transform=axis.transAxes, ha="center", va="center")
    axes[0][0].set_ylabel(OBJECTIVE_NAMES[objective])
    figure.tight_layout()
    with atomic_path(path) as temporary:
        figure.savefig(temporary, format="png", dpi=100)
    plt.close(figure)
    return [axis.get_title() for axis in axes[0]]


def best_trial(trials, oracle=None):
    """The completed trial with the highest score (the objective; the earliest on a tie), or None;
    ranked by `oracle.get_best_trials` when the oracle is keras-tuner's own."""
    completed = {
        t["trial_id"]: t
        for t in trials
        if t["status"] == "COMPLETED" and t["score"] is not None and math.isfinite(t["score"])
    }
    if isinstance(oracle, keras_tuner.Oracle):
        ranked_ids = [str(trial.trial_id) for trial in oracle.get_best_trials(len(oracle.trials))]
        return next((completed[trial_id] for trial_id in ranked_ids if trial_id in completed), None)
    return max(completed.values(), key=lambda t: t["score"], default=None)
