"""
Title: Searching cells, depth and width with keras-tuner
Description: keras-tuner searches cell, depth, width, direction, dropout, learning rate, head and intent loss weight by dev slot F1 or frame accuracy.

The lecture compares memories (Elman, Jordan, LSTM, peepholes, GRU), one or two
reading directions, and shallow or deep stacks. Which of them wins on a given
dataset, and how wide each layer should be, is an empirical question: this
script asks it systematically. Every trial builds one model with the very
`build_model` function of a recipe (`recipes.elman`, `recipes.jordan`,
`recipes.lstm`, `recipes.peephole_lstm`, `recipes.gru`), trains it with the
shared training loop (dev scores after every epoch, early stopping, best
epoch kept) and reports the best epoch's dev score to keras-tuner, which
maximises it: slot F1 with conlleval semantics, `val_slot_f1` (the default),
or with `--objective val_frame_accuracy` the share of dev sentences whose
intent and every tag are right. Early stopping inside each trial follows the
same score. Where the training data has intents (the built-in travel data,
ATIS), every model also has an intent head (`--no-intent`: slots only; its
`--intent-pooling` and `--intent-to-slots` are fixed by their flags), and the
weight of the intent loss beside the slot loss joins the search space
(`--min-intent-weight`, `--max-intent-weight`, on a log scale). The best
configuration is then trained again on the full training set and saved as an
ordinary run folder.

Run it:

    python -m recipes.tune --max-trials 5 --epochs 3 --max-train 500    # a quick look at the built-in data
    python -m recipes.tune --data ../shared/datasets/atis --max-trials 20
    python -m recipes.tune --cells lstm,gru --max-depth 2 --no-bidirectional --heads softmax
    python -m recipes.tune --tuner hyperband --epochs 27                  # hyperband: --epochs is the most per trial
    python -m recipes.tune --objective val_frame_accuracy --min-intent-weight 0.5 --max-intent-weight 2

What a search leaves in `<directory>/<project-name>/` (`tuning/<dataset>/` by default):

    search.json          the flags that define the search (a rerun with other ones is refused)
    oracle.json, trial_*/ keras-tuner's own state: trial_*/trial.json holds values, score and status
    results.csv          one row per trial: trial_id, every hyperparameter, the dev scores of its best
                         epoch (val_slot_f1; with an intent head also val_intent_accuracy and
                         val_frame_accuracy; the objective's column is keras-tuner's score),
                         best_epoch, epochs, parameters, train_seconds, status, error; rewritten as
                         each trial ends
    results.md           the same table, best objective first
    search.png           the objective by depth and width, one panel per cell
    best_trial_<id>/     the best configuration retrained for the full --epochs on the full training
                         set: model.keras, encoder.json, metrics.json (dev and test slot F1, and with
                         an intent head intent and frame accuracy), ...
                         `python -m recipes.predict --model-dir tuning/<dataset>/best_trial_<id> "..."`

Stopping and resuming: interrupt a search at any time and run the same command
again: keras-tuner reloads its oracle from the folder, finished trials are kept
and the interrupted one runs again. `--max-trials` may grow between runs; every
other search flag must stay the same (`search.json` is compared, and a
different search is refused with one line), unless `--overwrite` starts over.

Several processes on this machine (a chief that hands out trials and N workers
that train them, talking over gRPC on 127.0.0.1):

    python -m recipes.tune --distributed --workers 2 --data ../shared/datasets/atis

starts them as subprocesses of itself (their output goes to `logs/` in the
search folder), prints each trial as it ends, stops the chief as soon as every
worker has exited, then writes the tables and the plot and retrains the best
configuration. Each worker trains on all the cores it finds: on a small
machine, more workers only share the same cores.

Several machines: start the same command, without `--distributed`, once per
machine with keras-tuner's environment variables, every process pointing
`--directory` at one shared folder (for example an NFS mount), and with the
same search flags (they are checked against `search.json`):

    # on the chief (10.0.0.1 here); it serves trials and trains none
    KERASTUNER_TUNER_ID=chief KERASTUNER_ORACLE_IP=10.0.0.1 KERASTUNER_ORACLE_PORT=8000 \\
        python -m recipes.tune --data ../shared/datasets/atis --directory /mnt/shared/tuning
    # on every worker, each with its own id (tuner0, tuner1, ...)
    KERASTUNER_TUNER_ID=tuner0 KERASTUNER_ORACLE_IP=10.0.0.1 KERASTUNER_ORACLE_PORT=8000 \\
        python -m recipes.tune --data ../shared/datasets/atis --directory /mnt/shared/tuning

Workers write `results.csv` and `results.md` after each trial, reading the
trial files in the shared folder. The chief exits on its own once every
worker has asked for a trial after the last one (keras-tuner checks every 20
seconds), then writes the tables and the plot and retrains the best
configuration. Start the workers while the chief is still serving: a worker
that connects after the search has ended waits for the chief (up to an hour)
and must be stopped by hand. Only the chief and single-process runs take
`--overwrite`.
"""

import dataclasses
import json
import os
import sys
import time
import zlib
from pathlib import Path

import keras
import keras_tuner

from data.command_line import exit_on_errors
from recipes import elman, gru, jordan, lstm, peephole_lstm
from recipes.config.errors import EXIT_CODES, SearchFailed, TrainingDiverged
from recipes.config.flags import describe
from recipes.config.settings import HEADS, MODEL_FLAGS, SHARED
from recipes.model.parts import compile_model
from recipes.search import command_line as search_flags
from recipes.search.command_line import check_args, check_data, launcher_free
from recipes.search.folder import prepare_project, save_last_good
from recipes.search.launcher import run_distributed
from recipes.search.results import (
    DEV_SCORES,
    HYPERPARAMETERS,
    OBJECTIVE_NAMES,
    best_trial,
    load_trials,
    plot_search,
    ranked,
    write_tables,
)
from recipes.training.recipe import fit_encoder, load_data, run_recipe
from recipes.training.trainer import train

PROG = "python -m recipes.tune"

# Every cell the search may pick, and the recipe function that builds it.
CELLS = {
    "elman": elman.build_model,
    "jordan": jordan.build_model,
    "lstm": lstm.build_model,
    "peephole_lstm": peephole_lstm.build_model,
    "gru": gru.build_model,
}

# The search space: each line is also a flag (`--max-depth 2`); edit them here to change the defaults.
cells = tuple(CELLS)  # Every memory of the lecture; try `--cells lstm,gru`
min_depth, max_depth = 1, 4  # Stacked recurrent layers
min_units, max_units = 32, 512  # Units per layer and direction, doubling: 32, 64, ..., 512
min_dropout, max_dropout = 0.0, 0.5  # On word features and between layers
min_learning_rate, max_learning_rate = 5e-4, 1e-2  # Adam, sampled on a log scale
heads = HEADS  # An independent softmax per word, or a CRF over the whole sentence
min_intent_weight, max_intent_weight = 0.03, 3.0  # Intent loss weight, log scale (defaults: softmax 0.1, CRF 1)
max_trials = 20  # Trials of a random or Bayesian search; hyperband counts its own
SPACE = {
    "cells": cells,
    "min_depth": min_depth,
    "max_depth": max_depth,
    "min_units": min_units,
    "max_units": max_units,
    "min_dropout": min_dropout,
    "max_dropout": max_dropout,
    "min_learning_rate": min_learning_rate,
    "max_learning_rate": max_learning_rate,
    "heads": heads,
    "min_intent_weight": min_intent_weight,
    "max_intent_weight": max_intent_weight,
    "max_trials": max_trials,
}

# What each --objective makes every trial's early stopping follow (`Settings.monitor`).
MONITORS = {"val_slot_f1": "slot_f1", "val_frame_accuracy": "frame_accuracy"}
# The intent values of a trial of a search saved before the intent head existed: none.
WITHOUT_INTENT = {
    "intent": False,
    "intent_pooling": SHARED.intent_pooling,
    "intent_to_slots": False,
    "intent_weight": SHARED.intent_weight,
}


def make_parser():
    """The tuner's flags, the search space's defaulting to the constants above."""
    return search_flags.make_parser(PROG, describe(__doc__), SPACE)


def unit_choices(low, high):
    """Layer widths from `low` doubling up to `high` (and `high` itself): 32, 64, ..., 512."""
    values = []
    width = low
    while width < high:
        values.append(width)
        width *= 2
    return values + [high]


def objective(args):
    """keras-tuner's objective: the dev score `--objective` names, maximised."""
    return keras_tuner.Objective(args.objective, direction="max")


def declare_space(hp, args, with_intents=False):
    """Declares the search space on `hp` and returns this trial's values, in
    the order of `HYPERPARAMETERS`. A range whose ends are equal is fixed.

    `with_intents`: the models have an intent head (`--intent` and training
    data with intents); only then is `intent_weight` in the space. The intent
    head's own flags are fixed."""

    def choice(name, values):
        return hp.Fixed(name, values[0]) if len(values) == 1 else hp.Choice(name, values)

    def number(kind, name, low, high, sampling="linear"):
        if low == high:
            return hp.Fixed(name, low)
        return kind(name, low, high, sampling=sampling)

    values = {
        "cell": choice("cell", args.cells),
        "depth": number(hp.Int, "depth", args.min_depth, args.max_depth),
        "units": choice("units", unit_choices(args.min_units, args.max_units)),
        "bidirectional": (
            hp.Boolean("bidirectional") if args.bidirectional is None else hp.Fixed("bidirectional", args.bidirectional)
        ),
        "dropout": number(hp.Float, "dropout", args.min_dropout, args.max_dropout),
        "learning_rate": number(hp.Float, "learning_rate", args.min_learning_rate, args.max_learning_rate, "log"),
        "head": choice("head", args.heads),
        "encoding": hp.Fixed("encoding", args.encoding),
        "embedding_dim": hp.Fixed("embedding_dim", args.embedding_dim),
        "window": hp.Fixed("window", args.window),
        "intent": hp.Fixed("intent", bool(with_intents)),
        "intent_pooling": hp.Fixed("intent_pooling", args.intent_pooling),
        "intent_to_slots": hp.Fixed("intent_to_slots", args.intent_to_slots),
    }
    if with_intents:
        values["intent_weight"] = number(
            hp.Float, "intent_weight", args.min_intent_weight, args.max_intent_weight, "log"
        )
    return values


def trial_values(values):
    """A trial's hyperparameters with the intent ones filled in where the trial
    has none (a search saved before them, or one without an intent head)."""
    return {**WITHOUT_INTENT, **values}


def build_from_values(encoder, values):
    """The model of one configuration, built by its recipe's `build_model` and
    compiled with its learning rate and intent loss weight."""
    values = trial_values(values)
    options = {key: values[key] for key in MODEL_FLAGS}
    model = CELLS[values["cell"]](encoder, **options)
    return compile_model(model, values["learning_rate"], values["intent_weight"])


def describe_values(values):
    values = trial_values(values)
    direction = "bidirectional" if values["bidirectional"] else "one direction"
    text = (
        f"{values['cell']} depth {values['depth']} units {values['units']} {direction} "
        f"dropout {values['dropout']:.3g} learning rate {values['learning_rate']:.3g} head {values['head']}"
    )
    if values["intent"]:
        text += f" intent {values['intent_pooling']} pooling weight {values['intent_weight']:.3g}"
        if values["intent_to_slots"]:
            text += " to slots"
    return text


def best_epoch_scores(model, monitor, objective_name):
    """The dev scores of the trial's best epoch: the objective's (the monitor's
    best score) and, from the epoch logs training left in `model.history`, the
    others that epoch has (`DEV_SCORES`)."""
    scores = {objective_name: float(monitor.best_score)}
    history = getattr(model, "history", None)
    epoch = int(monitor.best_epoch) - 1
    if history is not None and epoch in history.epoch:
        row = history.epoch.index(epoch)
        for name in DEV_SCORES:
            logged = history.history.get(name) or []
            if name not in scores and row < len(logged):
                scores[name] = float(logged[row])
    return {name: scores[name] for name in [objective_name, *DEV_SCORES] if name in scores}


def trial_settings(args):
    """What every trial trains with besides its hyperparameters, as the recipes' `Settings`."""
    return dataclasses.replace(
        SHARED,
        data=args.data,
        columns=args.columns,
        epochs=args.epochs,
        patience=args.patience,
        batch_size=args.batch_size,
        buckets=args.buckets,
        max_train=args.max_train,
        seed=args.seed,
        verbose=args.verbose,
        monitor=MONITORS[args.objective],
    )


class SlotFillingHyperModel(keras_tuner.HyperModel):
    """Builds a trial's model with a recipe's `build_model` and trains it with
    `machinery.training.train`, which scores dev after every epoch and stops
    early on the score `--objective` names.

    `fit` returns the dev scores of the trial's best epoch, `{"val_slot_f1": ...,
    "val_intent_accuracy": ..., "val_frame_accuracy": ..., ...}` (the last two
    with an intent head); keras-tuner maximises the objective's. Its own
    callbacks run after `SlotF1Monitor`, so they see those scores in `logs`
    every epoch too.
    """

    def __init__(self, args, encoder, dataset):
        super().__init__(name="slot_filling")
        self.args, self.encoder, self.dataset = args, encoder, dataset
        self.settings = trial_settings(args)
        self.with_intents = bool(args.intent and encoder.intents)
        self.trial_id, self.execution = None, 0

    def start_trial(self, trial_id):
        self.trial_id, self.execution = trial_id, 0

    def build(self, hp):
        values = declare_space(hp, self.args, self.with_intents)
        # Each execution of each trial starts from its own reproducible weights.
        keras.utils.set_random_seed(zlib.crc32(f"{self.args.seed}:{self.trial_id}:{self.execution}".encode()))
        self.execution += 1
        return build_from_values(self.encoder, values)

    def fit(self, hp, model, *args, **kwargs):
        settings = dataclasses.replace(  # hyperband sets epochs and initial_epoch
            self.settings,
            epochs=kwargs.get("epochs", self.settings.epochs),
            verbose=kwargs.get("verbose", self.settings.verbose),
        )
        initial_epoch = kwargs.get("initial_epoch", 0)
        values = {key: hp.values[key] for key in HYPERPARAMETERS if key in hp.values}
        name = f"trial {self.trial_id}"
        if self.args.executions_per_trial > 1:
            name += f" (execution {self.execution} of {self.args.executions_per_trial})"
        print(f"{name}: {describe_values(values)}", flush=True)
        started = time.perf_counter()
        try:
            monitor = train(
                model,
                self.encoder,
                self.dataset,
                settings,
                extra_callbacks=kwargs.get("callbacks", ()),
                initial_epoch=initial_epoch,
            )
        except TrainingDiverged as error:
            print(f"{name}: failed: {error}", flush=True)
            raise keras_tuner.errors.FailedTrialError(str(error)) from error
        seconds = time.perf_counter() - started
        epochs = len(model.history.epoch) if getattr(model, "history", None) is not None else 0
        scores = best_epoch_scores(model, monitor, self.args.objective)
        result = {
            **scores,
            "best_epoch": int(monitor.best_epoch),
            "epochs": int(initial_epoch + epochs),
            "parameters": int(model.count_params()),
            "train_seconds": round(seconds, 2),
        }
        print(
            f"{name}: {', '.join(f'{score} {value:.4f}' for score, value in scores.items())} "
            f"(best epoch {monitor.best_epoch} of {result['epochs']}), {result['parameters']:,} parameters, "
            f"{seconds:.1f} s",
            flush=True,
        )
        return result


class _SearchHooks:
    """What every tuner of this script adds to keras-tuner's: reproducible
    seeds per trial, and as each trial ends `results.csv` rewritten and a
    last good copy of keras-tuner's state saved."""

    def run_trial(self, trial, *args, **kwargs):
        self.hypermodel.start_trial(trial.trial_id)
        return super().run_trial(trial, *args, **kwargs)

    def on_trial_end(self, trial):
        super().on_trial_end(trial)  # reports the trial to the oracle, which writes trial.json
        trials = load_trials(Path(self.project_dir), self.oracle)
        write_tables(Path(self.project_dir), trials, objective=self.hypermodel.args.objective)
        save_last_good(self.project_dir)


class RandomSearch(_SearchHooks, keras_tuner.RandomSearch):
    pass


class BayesianSearch(_SearchHooks, keras_tuner.BayesianOptimization):
    pass


class HyperbandSearch(_SearchHooks, keras_tuner.Hyperband):
    pass


def make_tuner(args, hypermodel):
    options = {
        "hypermodel": hypermodel,
        "objective": objective(args),
        "seed": args.seed + 1,  # keras-tuner takes a seed of 0 for "no seed"
        "directory": args.directory,
        "project_name": args.project_name,
        "overwrite": False,  # --overwrite has already removed the folder, once, in one process
        "executions_per_trial": args.executions_per_trial,
    }
    if args.tuner == "random":
        tuner = RandomSearch(max_trials=args.max_trials, **options)
    elif args.tuner == "bayesian":
        tuner = BayesianSearch(max_trials=args.max_trials, **options)
    else:
        tuner = HyperbandSearch(max_epochs=args.epochs, factor=3, **options)
    oracle = tuner.oracle
    saved_oracle = Path(tuner.project_dir) / "oracle.json"
    if isinstance(oracle, keras_tuner.Oracle) and not oracle.trials and saved_oracle.is_file():
        # keras-tuner reloads only when this process's own tuner file exists
        # (`tuner0.json`, `chief.json`); a search started in the other mode
        # (one process, or chief and workers) must resume from its oracle too.
        oracle.reload()
    return tuner


def search(args, role, dataset):
    """Runs this process's part of the search (all of it, the chief's or a worker's); returns the tuner."""
    encoder = fit_encoder(dataset.train)
    tuner = make_tuner(args, SlotFillingHyperModel(args, encoder, dataset))
    if role == "chief":
        print(
            f"chief: serving trials on {os.environ['KERASTUNER_ORACLE_IP']}:{os.environ['KERASTUNER_ORACLE_PORT']}",
            flush=True,
        )
    try:
        tuner.search(verbose=args.verbose)
    except RuntimeError as error:
        if "consecutive failures" not in str(error):
            raise
        trials = load_trials(Path(tuner.project_dir), tuner.oracle)
        write_tables(Path(tuner.project_dir), trials, objective=args.objective)
        errors = [trial["error"] for trial in trials if trial["error"]]
        raise SearchFailed(
            f"the search stopped: {tuner.oracle.max_consecutive_failed_trials} trials in a row failed "
            f"(last: {errors[-1] if errors else 'no message'}); run again to retry"
        ) from error
    return tuner


def retrain_best(args, project_dir, trial):
    """Trains the best configuration for the full --epochs on the full training
    set and saves an ordinary run folder `best_trial_<id>` (skipped when that
    folder is already finished), with the trial's intent loss weight and early
    stopping on the search's objective. Returns `(run_dir, metrics)`."""
    run_dir = Path(project_dir) / f"best_trial_{trial['trial_id']}"
    if (run_dir / "metrics.json").is_file():
        print(f"the best trial was retrained before: {run_dir}")
        return run_dir, json.loads((run_dir / "metrics.json").read_text(encoding="utf-8"))
    values = trial_values(trial["values"])
    cell = values["cell"]
    settings = dataclasses.replace(
        trial_settings(args),
        **{name: values[name] for name in MODEL_FLAGS},
        learning_rate=values["learning_rate"],
        intent_weight=values["intent_weight"],
        max_train=None,
        output_dir=str(run_dir),
    )
    print(
        f"\nretraining trial {trial['trial_id']} ({describe_values(values)}) for up to {args.epochs} epochs "
        "on the full training set"
    )
    metrics = run_recipe(CELLS[cell], cell, settings)
    return run_dir, metrics


def report(args, project_dir, oracle=None):
    """Writes the tables and the plot, prints the best trials and retrains the best one."""
    trials = load_trials(project_dir, oracle)
    table = write_tables(project_dir, trials, objective=args.objective)
    plot_search(table, args.cells, project_dir / "search.png", args.objective)
    best = best_trial(trials, oracle)
    print(f"\n{len(trials)} trials in {project_dir}: results.csv, results.md, search.png")
    top = ranked(table, args.objective).head(5)
    shown = [name for name in ("intent_weight", *DEV_SCORES) if name in top.columns]
    print(top[["trial_id", *HYPERPARAMETERS[:7], *shown, "parameters", "status"]].to_string(index=False))
    summary = {
        "project_dir": str(project_dir),
        "trials": len(trials),
        "objective": args.objective,
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
    best_slot_f1 = best["score"] if args.objective == "val_slot_f1" else best["metrics"].get("val_slot_f1")
    summary.update(best_trial=best["trial_id"], best_score=best["score"], best_val_slot_f1=best_slot_f1)
    print(
        f"best: trial {best['trial_id']}, {describe_values(best['values'])}: "
        f"{OBJECTIVE_NAMES[args.objective]} {best['score']:.4f}"
    )
    if args.retrain:
        run_dir, metrics = retrain_best(args, project_dir, best)
        dev, test = metrics["dev"], metrics["test"]
        best_run = {
            "run_dir": run_dir.name,
            "dev_f1": dev["f1"],
            "test_f1": test["f1"],
            "test_intent_accuracy": test.get("intent_accuracy"),
            "test_frame_accuracy": test.get("frame_accuracy"),
        }
        write_tables(project_dir, trials, best_run, objective=args.objective)
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


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = make_parser()
    args = parser.parse_args(argv)
    role = check_args(parser, args, max_trials)
    try:
        with exit_on_errors(PROG, EXIT_CODES):
            dataset = load_data(trial_settings(args))  # a bad --data fails here, before anything is written
            with_intents = check_data(args, dataset)  # and flags the data cannot serve
            if args.intent and not with_intents:
                print(f"{dataset.name}: the training data has no intents; searching slots only", flush=True)
                args.intent = False  # what search.json records: no intent head
            project_dir = prepare_project(args, role)
            oracle = None
            if role == "parent":
                run_distributed(launcher_free(argv), args.workers, project_dir, describe_values, args.objective)
            else:
                oracle = search(args, role, dataset).oracle
                if role == "worker" or args.serve_only:
                    return {"project_dir": str(project_dir)}
            return report(args, project_dir, oracle)
    except KeyboardInterrupt:
        print(f"\n{PROG}: interrupted; run the same command again to resume the search", file=sys.stderr)
        raise SystemExit(130)


if __name__ == "__main__":
    main()
