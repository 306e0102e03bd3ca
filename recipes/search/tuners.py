"""A search run: keras-tuner's tuners with this project's hooks, the search itself, its report and the retrained best.

tuner = run_search(request, role, dataset)        # this process's part: all of it, the chief's or a worker's
summary = report(request, project_dir, tuner.oracle)   # results.csv/.md, search.png, the best trial retrained
"""

import dataclasses
import os
from pathlib import Path

import keras_tuner

from recipes.config.errors import SearchFailed
from recipes.config.formats import METRICS, read_versioned
from recipes.config.settings import SEARCHED
from recipes.search.folder import save_last_good
from recipes.search.hypermodel import CELLS, SlotFillingHyperModel, describe_trial, trial_settings
from recipes.search.results import (
    DEV_SCORES,
    OBJECTIVE_NAMES,
    best_trial,
    load_trials,
    plot_search,
    ranked,
    write_tables,
)
from recipes.training.recipe import fit_encoder, run_recipe


class _SearchHooks:
    """What every tuner here adds to keras-tuner's: reproducible seeds per trial,
    and as each trial ends `results.csv` rewritten and a last good copy of
    keras-tuner's state saved."""

    def run_trial(self, trial, *args, **kwargs):
        self.hypermodel.start_trial(trial.trial_id)
        return super().run_trial(trial, *args, **kwargs)

    def on_trial_end(self, trial):
        super().on_trial_end(trial)  # reports the trial to the oracle, which writes trial.json
        trials = load_trials(Path(self.project_dir), self.oracle)
        write_tables(Path(self.project_dir), trials, objective=self.hypermodel.request.options.objective)
        save_last_good(self.project_dir)


class RandomSearch(_SearchHooks, keras_tuner.RandomSearch):
    pass


class BayesianSearch(_SearchHooks, keras_tuner.BayesianOptimization):
    pass


class HyperbandSearch(_SearchHooks, keras_tuner.Hyperband):
    pass


class TooManyFailures(SearchFailed):
    """keras-tuner stopped the search after too many trials in a row failed."""


def make_tuner(request, hypermodel):
    options = request.options
    common = {
        "hypermodel": hypermodel,
        "objective": keras_tuner.Objective(options.objective, direction="max"),
        "seed": request.settings.seed + 1,  # keras-tuner takes a seed of 0 for "no seed"
        "directory": options.directory,
        "project_name": options.project_name,
        "overwrite": False,  # --overwrite has already removed the folder, once, in one process
        "executions_per_trial": options.executions_per_trial,
    }
    if options.tuner == "random":
        tuner = RandomSearch(max_trials=options.max_trials, **common)
    elif options.tuner == "bayesian":
        tuner = BayesianSearch(max_trials=options.max_trials, **common)
    else:
        tuner = HyperbandSearch(max_epochs=request.settings.epochs, factor=3, **common)
    oracle = tuner.oracle
    saved_oracle = Path(tuner.project_dir) / "oracle.json"
    if isinstance(oracle, keras_tuner.Oracle) and not oracle.trials and saved_oracle.is_file():
        # keras-tuner reloads only when this process's own tuner file exists
        # (`tuner0.json`, `chief.json`); a search started in the other mode
        # (one process, or chief and workers) must resume from its oracle too.
        oracle.reload()
    return tuner


def run_search(request, role, dataset):
    """Runs this process's part of the search (all of it, the chief's or a worker's); returns the tuner."""
    encoder = fit_encoder(dataset.train)
    tuner = make_tuner(request, SlotFillingHyperModel(request, encoder, dataset))
    if role == "chief":
        print(
            f"chief: serving trials on {os.environ['KERASTUNER_ORACLE_IP']}:{os.environ['KERASTUNER_ORACLE_PORT']}",
            flush=True,
        )
    oracle = tuner.oracle
    # The oracle that serves trials (here, not a worker's client of it) raises a plain RuntimeError once
    # this many trials in a row failed; counting them tells that stop apart from any other error by what
    # happened, not by its message.
    failures = oracle.max_consecutive_failed_trials if isinstance(oracle, keras_tuner.Oracle) else None
    try:
        tuner.search(verbose=request.settings.verbose)
    except RuntimeError as error:
        trials = load_trials(Path(tuner.project_dir), oracle)
        if failures is None or not _ends_in_failures(trials, failures):
            raise
        write_tables(Path(tuner.project_dir), trials, objective=request.options.objective)
        errors = [trial["error"] for trial in trials if trial["error"]]
        raise TooManyFailures(
            f"the search stopped: {failures} trials in a row failed "
            f"(last: {errors[-1] if errors else 'no message'}); run again to retry"
        ) from error
    return tuner


def _ends_in_failures(trials, count):
    """Whether the last `count` trials that ended all failed."""
    ended = [trial["status"] for trial in trials if trial["status"] in ("COMPLETED", "FAILED")]
    return len(ended) >= count and all(status == "FAILED" for status in ended[-count:])


def retrain_best(request, project_dir, trial):
    """Trains the best configuration for the full --epochs on the full training
    set and saves an ordinary run folder `best_trial_<id>` (skipped when that
    folder is already finished), with the trial's intent loss weight and early
    stopping on the search's objective. Returns `(run_dir, metrics)`."""
    run_dir = Path(project_dir) / f"best_trial_{trial['trial_id']}"
    if (run_dir / "metrics.json").is_file():
        print(f"the best trial was retrained before: {run_dir}")
        return run_dir, read_versioned(run_dir / "metrics.json", METRICS)
    cell = trial["values"]["cell"]
    settings = dataclasses.replace(
        trial_settings(request.settings, trial["values"]), max_train=None, output_dir=str(run_dir)
    )
    print(
        f"\nretraining trial {trial['trial_id']} ({describe_trial(cell, settings)}) for up to "
        f"{settings.epochs} epochs on the full training set"
    )
    return run_dir, run_recipe(CELLS[cell], cell, settings)


def report(request, project_dir, oracle=None):
    """Writes the tables and the plot, prints the best trials and retrains the best one."""
    objective = request.options.objective
    trials = load_trials(project_dir, oracle)
    table = write_tables(project_dir, trials, objective=objective)
    plot_search(table, request.options.cells, project_dir / "search.png", objective)
    best = best_trial(trials, oracle)
    print(f"\n{len(trials)} trials in {project_dir}: results.csv, results.md, search.png")
    top = ranked(table, objective).head(5)
    shown = [name for name in ("intent_weight", *DEV_SCORES) if name in top.columns]
    columns = ["cell", *(name for name in SEARCHED if name != "intent_weight")]
    print(top[["trial_id", *columns, *shown, "parameters", "status"]].to_string(index=False))
    summary = {
        "project_dir": str(project_dir),
        "trials": len(trials),
        "objective": objective,
        "best_trial": None,
        "best_score": None,
        "best_val_slot_f1": None,
        "best_run_dir": None,
        "test_f1": None,
        "test_intent_accuracy": None,
        "test_frame_accuracy": None,
    }
    if best is None:
        raise SearchFailed(f"no trial finished in {project_dir} (see the error column of results.csv)")
    best_slot_f1 = best["score"] if objective == "val_slot_f1" else best["metrics"].get("val_slot_f1")
    summary.update(best_trial=best["trial_id"], best_score=best["score"], best_val_slot_f1=best_slot_f1)
    described = describe_trial(best["values"]["cell"], trial_settings(request.settings, best["values"]))
    print(f"best: trial {best['trial_id']}, {described}: {OBJECTIVE_NAMES[objective]} {best['score']:.4f}")
    if request.options.retrain:
        run_dir, metrics = retrain_best(request, project_dir, best)
        dev, test = metrics["dev"], metrics["test"]
        best_run = {
            "run_dir": run_dir.name,
            "dev_f1": dev["f1"],
            "test_f1": test["f1"],
            "test_intent_accuracy": test.get("intent_accuracy"),
            "test_frame_accuracy": test.get("frame_accuracy"),
        }
        write_tables(project_dir, trials, best_run, objective=objective)
        summary.update(
            best_run_dir=str(run_dir),
            test_f1=test["f1"],
            test_intent_accuracy=test.get("intent_accuracy"),
            test_frame_accuracy=test.get("frame_accuracy"),
        )
        scores = f"dev slot F1 {dev['f1']:.4f}, test slot F1 {test['f1']:.4f}"
        if "frame_accuracy" in test:
            scores += f", test intent accuracy {test['intent_accuracy']:.4f}"
            scores += f", test frame accuracy {test['frame_accuracy']:.4f}"
        print(f"best configuration retrained: {run_dir} ({scores})")
        print(f'tag sentences with it: python -m recipes.predict --model-dir {run_dir} "leave taipei on november 2nd"')
    return summary
