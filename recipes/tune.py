"""
Title: Searching cells, depth and width with keras-tuner
Description: keras-tuner searches cell, depth, width, direction, dropout, learning rate and head by dev slot F1.

The lecture compares memories (Elman, Jordan, LSTM, peepholes, GRU), one or two
reading directions, and shallow or deep stacks. Which of them wins on a given
dataset, and how wide each layer should be, is an empirical question: this
script asks it systematically. Every trial builds one model with the very
`build_model` function of a recipe (`recipes.elman`, `recipes.jordan`,
`recipes.lstm`, `recipes.peephole_lstm`, `recipes.gru`), trains it with the
shared training loop (dev slot F1 with conlleval semantics after every epoch,
early stopping, best epoch kept) and reports that best dev F1, `val_slot_f1`,
to keras-tuner, which maximises it. The best configuration is then trained
again on the full training set and saved as an ordinary run folder.

Run it:

    python -m recipes.tune --max-trials 5 --epochs 3 --max-train 500    # a quick look at the built-in data
    python -m recipes.tune --data ../shared/datasets/atis --max-trials 20
    python -m recipes.tune --cells lstm,gru --max-depth 2 --no-bidirectional --heads softmax
    python -m recipes.tune --tuner hyperband --epochs 27                  # hyperband: --epochs is the most per trial

What a search leaves in `<directory>/<project-name>/` (`tuning/<dataset>/` by default):

    search.json          the flags that define the search (a rerun with other ones is refused)
    oracle.json, trial_*/ keras-tuner's own state: trial_*/trial.json holds values, score and status
    results.csv          one row per trial: trial_id, every hyperparameter, val_slot_f1, best_epoch,
                         epochs, parameters, train_seconds, status, error; rewritten as each trial ends
    results.md           the same table, best first
    search.png           dev slot F1 by depth and width, one panel per cell
    best_trial_<id>/     the best configuration retrained for the full --epochs on the full training
                         set: model.keras, encoder.json, metrics.json (dev and test slot F1), ...
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

import argparse
import contextlib
import copy
import json
import math
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import zlib
from pathlib import Path

import keras
import keras_tuner
import numpy as np
import pandas as pd

import data
from data.batching import DEFAULT_BUCKETS
from data.sources import BUILT_IN, DOWNLOADABLE
from recipes import common, elman, gru, jordan, lstm, peephole_lstm

PROG = "python -m recipes.tune"
REPO_ROOT = Path(__file__).resolve().parent.parent

# Every cell the search may pick, and the recipe function that builds it.
CELLS = {
    "elman": elman.build_model,
    "jordan": jordan.build_model,
    "lstm": lstm.build_model,
    "peephole_lstm": peephole_lstm.build_model,
    "gru": gru.build_model,
}
TUNERS = ("random", "bayesian", "hyperband")

# The search space: each line is also a flag (`--max-depth 2`); edit them here to change the defaults.
cells = tuple(CELLS)  # Every memory of the lecture; try `--cells lstm,gru`
min_depth, max_depth = 1, 4  # Stacked recurrent layers
min_units, max_units = 32, 512  # Units per layer and direction, doubling: 32, 64, ..., 512
min_dropout, max_dropout = 0.0, 0.5  # On word features and between layers
min_learning_rate, max_learning_rate = 5e-4, 1e-2  # Adam, sampled on a log scale
heads = common.HEADS  # An independent softmax per word, or a CRF over the whole sentence
max_trials = 20  # Trials of a random or Bayesian search; hyperband counts its own

OBJECTIVE = keras_tuner.Objective("val_slot_f1", direction="max")

# Hyperparameters in the order the columns of results.csv show them.
HYPERPARAMETERS = (
    "cell", "depth", "units", "bidirectional", "dropout", "learning_rate",
    "head", "encoding", "embedding_dim", "window",
)
# What each trial reports besides its score (mean over --executions-per-trial).
TRIAL_METRICS = ("best_epoch", "epochs", "parameters", "train_seconds")
# The flags that define a search: a rerun in the same folder must repeat them.
SEARCH_FLAGS = (
    "data", "tuner", "cells", "min_depth", "max_depth", "min_units", "max_units",
    "bidirectional", "min_dropout", "max_dropout", "min_learning_rate", "max_learning_rate",
    "heads", "encoding", "embedding_dim", "window", "epochs", "patience", "batch_size",
    "max_train", "seed", "executions_per_trial",
)


class SearchFailed(Exception):
    """The search ran but could not finish; the command line exits 1."""


# ---------------------------------------------------------------------------
# Flags
# ---------------------------------------------------------------------------


def name_list(kind, allowed):
    """An argparse type for a comma-separated list of names out of `allowed`."""

    def parse(text):
        names = [name.strip() for name in text.split(",") if name.strip()]
        if not names:
            raise argparse.ArgumentTypeError(f"expected one or more of {','.join(allowed)}, got {text!r}")
        for name in names:
            if name not in allowed:
                raise argparse.ArgumentTypeError(f"unknown {kind} {name!r} (choose from {', '.join(allowed)})")
        return list(dict.fromkeys(names))

    return parse


def make_parser():
    parser = common.Parser(prog=PROG, description=common.describe(__doc__), allow_abbrev=False)
    space = parser.add_argument_group("search space (each range is inclusive; equal ends fix the value)")
    space.add_argument("--cells", type=name_list("cell", tuple(CELLS)), default=",".join(cells),
                       help="recurrent cells to try, comma-separated (default: %(default)s)")
    space.add_argument("--min-depth", type=common.layer_count, default=min_depth,
                       help="fewest stacked recurrent layers (default: %(default)s)")
    space.add_argument("--max-depth", type=common.layer_count, default=max_depth,
                       help="most stacked recurrent layers (default: %(default)s)")
    space.add_argument("--min-units", type=common.layer_width, default=min_units,
                       help="narrowest layer, in units per direction; widths double from here up to "
                       "--max-units (default: %(default)s)")
    space.add_argument("--max-units", type=common.layer_width, default=max_units,
                       help="widest layer (default: %(default)s)")
    space.add_argument("--bidirectional", action=argparse.BooleanOptionalAction, default=None,
                       help="fix the reading direction (default: try both)")
    space.add_argument("--min-dropout", type=common.dropout_rate, default=min_dropout,
                       help="lowest dropout (default: %(default)s)")
    space.add_argument("--max-dropout", type=common.dropout_rate, default=max_dropout,
                       help="highest dropout (default: %(default)s)")
    space.add_argument("--min-learning-rate", type=common.positive_float, default=min_learning_rate,
                       help="lowest Adam learning rate, sampled on a log scale (default: %(default)s)")
    space.add_argument("--max-learning-rate", type=common.positive_float, default=max_learning_rate,
                       help="highest Adam learning rate (default: %(default)s)")
    space.add_argument("--heads", type=name_list("head", common.HEADS), default=",".join(heads),
                       help="tag heads to try, comma-separated (default: %(default)s)")
    space.add_argument("--encoding", choices=common.ENCODINGS, default="embedding+trigram",
                       help="how words enter every network, fixed (default: %(default)s)")
    space.add_argument("--embedding-dim", type=common.layer_width, default=100,
                       help="size of learned word and trigram vectors, fixed (default: %(default)s)")
    space.add_argument("--window", type=common.window_size, default=1,
                       help="words on each side concatenated to each word, fixed (default: %(default)s)")

    training = parser.add_argument_group("data and training of each trial")
    training.add_argument("--data", default="travel",
                          help="dataset: a built-in name, a dataset folder, or a CoNLL, CSV or TSV file, "
                          "as in every recipe (default: %(default)s)")
    training.add_argument("--epochs", type=common.positive_int, default=30,
                          help="most epochs per trial (hyperband: the most any trial reaches), and the "
                          "epochs of the final retraining (default: %(default)s)")
    training.add_argument("--patience", type=common.positive_int, default=5,
                          help="stop a trial after this many epochs without a better dev slot F1 "
                          "(default: %(default)s)")
    training.add_argument("--batch-size", type=common.batch_size, default=32,
                          help="sentences per batch (default: %(default)s)")
    training.add_argument("--buckets", type=common.bucket_list, default=",".join(map(str, DEFAULT_BUCKETS)),
                          help="padded sentence lengths, comma-separated (fewer: fewer shapes to compile; "
                          "default: %(default)s)")
    training.add_argument("--max-train", type=common.positive_int, default=None,
                          help="trials use at most this many training sentences (quick trials); the best "
                          "configuration is retrained on all of them (default: all)")
    training.add_argument("--seed", type=common.seed_value, default=0,
                          help="seed of the search, the weights, shuffling and dropout (default: %(default)s)")
    training.add_argument("--verbose", type=int, choices=(0, 1, 2), default=1,
                          help="0: one line per trial; 1: keras-tuner's tables and progress bars; "
                          "2: a line per epoch (default: %(default)s)")

    search = parser.add_argument_group("search")
    search.add_argument("--tuner", choices=TUNERS, default="random",
                        help="how keras-tuner picks the next trial (default: %(default)s)")
    search.add_argument("--max-trials", type=common.positive_int, default=None,
                        help=f"trials in all, counting those of a resumed search (default: {max_trials}; "
                        "hyperband decides its own number from --epochs)")
    search.add_argument("--executions-per-trial", type=common.positive_int, default=1,
                        help="models trained per trial from fresh weights; the trial scores their mean "
                        "(default: %(default)s)")
    search.add_argument("--directory", default="tuning", help="folder of all searches (default: %(default)s)")
    search.add_argument("--project-name", default=None,
                        help="this search's folder inside --directory (default: the dataset's name)")
    search.add_argument("--overwrite", action="store_true", help="delete the search in that folder and start over")
    search.add_argument("--retrain", action=argparse.BooleanOptionalAction, default=True,
                        help="retrain the best configuration and save it as a run folder (default: yes)")

    distributed = parser.add_argument_group("distributed search")
    distributed.add_argument("--distributed", action="store_true",
                             help="run a chief and --workers worker processes on this machine (127.0.0.1)")
    distributed.add_argument("--workers", type=common.positive_int, default=None,
                             help="worker processes of --distributed (default: 2)")
    # Set by --distributed for the chief it starts: serve trials, leave the tables to the parent.
    distributed.add_argument("--serve-only", action="store_true", help=argparse.SUPPRESS)
    return parser


def process_role():
    """`single`, or `chief` / `worker` when keras-tuner's environment variables say so."""
    if "KERASTUNER_ORACLE_IP" not in os.environ:
        return "single"
    for name in ("KERASTUNER_ORACLE_PORT", "KERASTUNER_TUNER_ID"):
        if not os.environ.get(name):
            raise common.UsageError(f"KERASTUNER_ORACLE_IP is set but {name} is not (a distributed search needs both)")
    return "chief" if "chief" in os.environ["KERASTUNER_TUNER_ID"] else "worker"


def check_args(parser, args):
    """Checks flags against each other; returns the process role (`single`,
    `parent`, `chief` or `worker`). Errors print one line and exit 2."""
    for low, high in (("min_depth", "max_depth"), ("min_units", "max_units"),
                      ("min_dropout", "max_dropout"), ("min_learning_rate", "max_learning_rate")):
        if getattr(args, low) > getattr(args, high):
            parser.error(f"--{low.replace('_', '-')} {getattr(args, low)} is above "
                         f"--{high.replace('_', '-')} {getattr(args, high)}")
    if args.tuner == "hyperband" and args.max_trials is not None:
        parser.error(f"--max-trials {args.max_trials}: hyperband decides the number of trials from --epochs; "
                     "leave --max-trials out")
    if args.max_trials is None and args.tuner != "hyperband":
        args.max_trials = max_trials
    if args.project_name is None:
        args.project_name = re.sub(r"[^A-Za-z0-9_.-]+", "_", Path(args.data).stem or str(args.data)).strip("._")
        args.project_name = args.project_name or "search"
    elif not re.fullmatch(r"[A-Za-z0-9_][A-Za-z0-9_.-]*", args.project_name):
        parser.error(f"--project-name {args.project_name!r}: use letters, digits, '_', '-' and '.' only")
    if args.workers is not None and not args.distributed:
        parser.error(f"--workers {args.workers}: only with --distributed")
    try:
        role = process_role()
    except common.UsageError as error:
        parser.error(str(error))
    if args.distributed:
        if role != "single":
            parser.error("--distributed starts its own chief and workers: unset KERASTUNER_ORACLE_IP, "
                         "KERASTUNER_ORACLE_PORT and KERASTUNER_TUNER_ID")
        args.workers = args.workers or 2
        return "parent"
    if args.serve_only and role != "chief":
        parser.error("--serve-only is for the chief that --distributed starts")
    if args.overwrite and role == "worker":
        parser.error(f"--overwrite: only the chief may start a search over, not worker "
                     f"{os.environ['KERASTUNER_TUNER_ID']}")
    return role


# ---------------------------------------------------------------------------
# The search space and the hypermodel
# ---------------------------------------------------------------------------


def unit_choices(low, high):
    """Layer widths from `low` doubling up to `high` (and `high` itself): 32, 64, ..., 512."""
    values = []
    width = low
    while width < high:
        values.append(width)
        width *= 2
    return values + [high]


def declare_space(hp, args):
    """Declares the search space on `hp` and returns this trial's values, in
    the order of `HYPERPARAMETERS`. A range whose ends are equal is fixed."""

    def choice(name, values):
        return hp.Fixed(name, values[0]) if len(values) == 1 else hp.Choice(name, values)

    def number(kind, name, low, high, sampling="linear"):
        if low == high:
            return hp.Fixed(name, low)
        return kind(name, low, high, sampling=sampling)

    return {
        "cell": choice("cell", args.cells),
        "depth": number(hp.Int, "depth", args.min_depth, args.max_depth),
        "units": choice("units", unit_choices(args.min_units, args.max_units)),
        "bidirectional": (hp.Boolean("bidirectional") if args.bidirectional is None
                          else hp.Fixed("bidirectional", args.bidirectional)),
        "dropout": number(hp.Float, "dropout", args.min_dropout, args.max_dropout),
        "learning_rate": number(hp.Float, "learning_rate", args.min_learning_rate, args.max_learning_rate, "log"),
        "head": choice("head", args.heads),
        "encoding": hp.Fixed("encoding", args.encoding),
        "embedding_dim": hp.Fixed("embedding_dim", args.embedding_dim),
        "window": hp.Fixed("window", args.window),
    }


def build_from_values(encoder, values):
    """The model of one configuration, built by its recipe's `build_model` and compiled."""
    options = {key: values[key] for key in common.MODEL_FLAGS}
    model = CELLS[values["cell"]](encoder, **options)
    return common.compile_model(model, values["learning_rate"])


def describe_values(values):
    direction = "bidirectional" if values["bidirectional"] else "one direction"
    return (f"{values['cell']} depth {values['depth']} units {values['units']} {direction} "
            f"dropout {values['dropout']:.3g} learning rate {values['learning_rate']:.3g} head {values['head']}")


class SlotFillingHyperModel(keras_tuner.HyperModel):
    """Builds a trial's model with a recipe's `build_model` and trains it with
    `common.train`, which scores dev slot F1 after every epoch.

    `fit` returns `{"val_slot_f1": best dev F1 of the trial, ...}`, the score
    keras-tuner maximises; keras-tuner's own callbacks run after
    `SlotF1Monitor`, so they see `logs["val_slot_f1"]` every epoch too.
    """

    def __init__(self, args, encoder, dataset):
        super().__init__(name="slot_filling")
        self.args, self.encoder, self.dataset = args, encoder, dataset
        self.trial_id, self.execution = None, 0

    def start_trial(self, trial_id):
        self.trial_id, self.execution = trial_id, 0

    def build(self, hp):
        values = declare_space(hp, self.args)
        # Each execution of each trial starts from its own reproducible weights.
        keras.utils.set_random_seed(zlib.crc32(f"{self.args.seed}:{self.trial_id}:{self.execution}".encode()))
        self.execution += 1
        return build_from_values(self.encoder, values)

    def fit(self, hp, model, *args, **kwargs):
        settings = copy.copy(self.args)
        settings.epochs = kwargs.get("epochs", self.args.epochs)  # hyperband sets epochs and initial_epoch
        settings.verbose = kwargs.get("verbose", self.args.verbose)
        initial_epoch = kwargs.get("initial_epoch", 0)
        values = {key: hp.values[key] for key in HYPERPARAMETERS}
        name = f"trial {self.trial_id}"
        if self.args.executions_per_trial > 1:
            name += f" (execution {self.execution} of {self.args.executions_per_trial})"
        print(f"{name}: {describe_values(values)}", flush=True)
        started = time.perf_counter()
        try:
            monitor = common.train(model, self.encoder, self.dataset, settings,
                                   extra_callbacks=kwargs.get("callbacks", ()), initial_epoch=initial_epoch)
        except common.TrainingDiverged as error:
            print(f"{name}: failed: {error}", flush=True)
            raise keras_tuner.errors.FailedTrialError(str(error)) from error
        seconds = time.perf_counter() - started
        epochs = len(model.history.epoch) if getattr(model, "history", None) is not None else 0
        result = {
            "val_slot_f1": float(monitor.best_f1),
            "best_epoch": int(monitor.best_epoch),
            "epochs": int(initial_epoch + epochs),
            "parameters": int(model.count_params()),
            "train_seconds": round(seconds, 2),
        }
        print(f"{name}: val_slot_f1 {monitor.best_f1:.4f} (best epoch {monitor.best_epoch} "
              f"of {result['epochs']}), {result['parameters']:,} parameters, {seconds:.1f} s", flush=True)
        return result


class _SearchHooks:
    """What every tuner of this script adds to keras-tuner's: reproducible
    seeds per trial and `results.csv` rewritten as each trial ends."""

    def run_trial(self, trial, *args, **kwargs):
        self.hypermodel.start_trial(trial.trial_id)
        return super().run_trial(trial, *args, **kwargs)

    def on_trial_end(self, trial):
        super().on_trial_end(trial)  # reports the trial to the oracle, which writes trial.json
        write_tables(Path(self.project_dir), load_trials(Path(self.project_dir)))


class RandomSearch(_SearchHooks, keras_tuner.RandomSearch):
    pass


class BayesianSearch(_SearchHooks, keras_tuner.BayesianOptimization):
    pass


class HyperbandSearch(_SearchHooks, keras_tuner.Hyperband):
    pass


def make_tuner(args, hypermodel):
    options = {
        "hypermodel": hypermodel,
        "objective": OBJECTIVE,
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


# ---------------------------------------------------------------------------
# The search folder
# ---------------------------------------------------------------------------


def search_settings(args):
    """The values of `SEARCH_FLAGS`, as stored in `search.json`."""
    settings = {name: getattr(args, name) for name in SEARCH_FLAGS}
    path = Path(str(args.data)).expanduser()
    if args.data not in BUILT_IN + DOWNLOADABLE and path.exists():
        settings["data"] = str(path.resolve())  # the same folder, however it is written
    return settings


def flag_text(name, value):
    flag = "--" + name.replace("_", "-")
    if name == "bidirectional":
        return {True: "--bidirectional", False: "--no-bidirectional"}.get(value, "both directions")
    if value is None:
        return f"no {flag}"
    if isinstance(value, list):
        value = ",".join(str(item) for item in value)
    return f"{flag} {value}"


def prepare_project(args, role):
    """Creates (or, with --overwrite, recreates) the search folder and checks
    that a search already there was made with the same search flags."""
    directory = Path(args.directory)
    if directory.exists() and not directory.is_dir():
        raise common.UsageError(f"--directory {args.directory}: exists and is not a folder")
    project_dir = directory / args.project_name
    if project_dir.exists() and not project_dir.is_dir():
        raise common.UsageError(f"--project-name {args.project_name}: {project_dir} exists and is not a folder")
    if args.overwrite and project_dir.exists():
        shutil.rmtree(project_dir)
    try:
        project_dir.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=project_dir):
            pass
    except OSError as error:
        raise common.UsageError(f"--directory {args.directory}: cannot write there ({error.strerror or error})")
    current = search_settings(args)
    path = project_dir / "search.json"
    if path.is_file():
        try:
            saved = json.loads(path.read_text(encoding="utf-8"))["flags"]
            if not isinstance(saved, dict):
                raise TypeError("flags is not an object")
        except (ValueError, KeyError, TypeError):
            raise common.UsageError(f"{path}: unreadable; use --overwrite or another --project-name")
        changed = [name for name in SEARCH_FLAGS if saved.get(name, "(not recorded)") != current[name]]
        if changed:
            before = " and ".join(flag_text(name, saved.get(name)) for name in changed)
            now = " and ".join(flag_text(name, current[name]) for name in changed)
            raise common.UsageError(
                f"{project_dir} holds a search made with {before}, not {now}: repeat its flags to resume it, "
                "or use --overwrite or another --project-name"
            )
    elif role != "worker":
        write_atomically(path, json.dumps({"flags": current}, indent=2) + "\n")
    return project_dir


def write_atomically(path, text):
    """Writes through a temporary file of this process, then renames it into
    place: readers and other writers never see a half-written file."""
    path = Path(path)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as file:
            file.write(text)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


# ---------------------------------------------------------------------------
# Results: read from keras-tuner's trial files, so every process can write them
# ---------------------------------------------------------------------------


def _trial_sort_key(trial_id):
    return (0, int(trial_id), "") if str(trial_id).isdigit() else (1, 0, str(trial_id))


def load_trials(project_dir):
    """Every trial of a search folder, read from its `trial_*/trial.json`.

    Returns dicts with `trial_id`, `values` (hyperparameters), `score`
    (val_slot_f1 or None), `metrics` (the last value of each reported metric),
    `status` and `error` (the last line of a failure's message), in trial order.
    """
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
        message = (state.get("message") or "").strip()
        trials.append({
            "trial_id": str(state["trial_id"]),
            "values": (state.get("hyperparameters") or {}).get("values") or {},
            "score": state.get("score"),
            "metrics": metrics,
            "status": state.get("status"),
            "error": message.splitlines()[-1] if message else "",
        })
    return sorted(trials, key=lambda trial: _trial_sort_key(trial["trial_id"]))


def results_table(trials):
    """One row per trial: `trial_id`, every hyperparameter, `val_slot_f1`,
    `best_epoch`, `epochs`, `parameters`, `train_seconds`, `status`, `error`."""
    extra = sorted({name for trial in trials for name in trial["values"]} - set(HYPERPARAMETERS))
    columns = ["trial_id", *HYPERPARAMETERS, *extra, "val_slot_f1", *TRIAL_METRICS, "status", "error"]
    rows = []
    for trial in trials:
        completed = trial["status"] == "COMPLETED"
        row = {"trial_id": trial["trial_id"], **trial["values"]}
        row["val_slot_f1"] = trial["score"] if completed else None
        row.update({name: trial["metrics"].get(name) if completed else None for name in TRIAL_METRICS})
        row["status"], row["error"] = trial["status"], trial["error"]
        rows.append(row)
    table = pd.DataFrame(rows, columns=columns)
    for name in ("depth", "units", "embedding_dim", "window", "best_epoch", "epochs", "parameters"):
        numbers = pd.to_numeric(table[name], errors="coerce")
        if numbers.dropna().apply(lambda number: float(number).is_integer()).all():
            table[name] = numbers.round().astype("Int64")
    return table


def ranked(table):
    """Completed trials first, best dev slot F1 first, then by trial order."""
    order = sorted(range(len(table)), key=lambda i: (
        pd.isna(table["val_slot_f1"].iloc[i]),
        -(table["val_slot_f1"].iloc[i] if pd.notna(table["val_slot_f1"].iloc[i]) else 0.0),
        _trial_sort_key(table["trial_id"].iloc[i]),
    ))
    return table.iloc[order]


def markdown_table(table):
    """A GitHub markdown table of a DataFrame (pandas' `to_markdown` needs `tabulate`)."""

    def cell(name, value):
        if value is None or (not isinstance(value, str) and pd.isna(value)):
            return ""
        if name == "val_slot_f1":
            return f"{value:.4f}"
        if name == "parameters":
            return f"{int(value):,}"
        if isinstance(value, (float, np.floating)):
            return f"{value:.4g}"
        return str(value).replace("|", "\\|")

    numeric = {name for name in table.columns if pd.api.types.is_numeric_dtype(table[name])
               and not pd.api.types.is_bool_dtype(table[name])}
    lines = ["| " + " | ".join(table.columns) + " |",
             "| " + " | ".join("---:" if name in numeric else "---" for name in table.columns) + " |"]
    for _, row in table.iterrows():
        lines.append("| " + " | ".join(cell(name, row[name]) for name in table.columns) + " |")
    return "\n".join(lines)


def write_tables(project_dir, trials, best_run=None):
    """Writes `results.csv` (trial order) and `results.md` (best first)."""
    project_dir = Path(project_dir)
    table = results_table(trials)
    write_atomically(project_dir / "results.csv", table.to_csv(index=False))
    counts = table["status"].value_counts()
    summary = ", ".join(f"{counts[status]} {status.lower()}" for status in counts.index) or "none yet"
    lines = [
        f"# Search {project_dir.name}",
        "",
        f"Objective: dev slot F1 (`val_slot_f1`, conlleval), maximised. Trials: {len(table)} ({summary}).",
    ]
    if best_run:
        lines.append(f"Best configuration retrained: `{best_run['run_dir']}` "
                     f"(dev slot F1 {best_run['dev_f1']:.4f}, test slot F1 {best_run['test_f1']:.4f}).")
    shown = ranked(table)
    if not shown["error"].astype(bool).any():
        shown = shown.drop(columns="error")
    lines += ["", markdown_table(shown), ""]
    write_atomically(project_dir / "results.md", "\n".join(lines))
    return table


def plot_search(table, cells, path):
    """Dev slot F1 against layer width, coloured by depth, one panel per cell
    (circles: both directions, triangles: one). Returns the panel titles."""
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
            axis.scatter(group["units"].astype(float), group["val_slot_f1"].astype(float),
                         color=colours[int(depth)], marker="o" if both else "^", s=36,
                         label=f"depth {int(depth)}, {'both directions' if both else 'one direction'}")
        axis.set_xscale("log", base=2)
        axis.set(title=cell, xlabel="units per layer and direction")
        if len(rows):
            axis.legend(fontsize=7, loc="lower right")
        else:
            axis.text(0.5, 0.5, "no finished trial", transform=axis.transAxes, ha="center", va="center")
    axes[0][0].set_ylabel("dev slot F1")
    figure.tight_layout()
    handle, temporary = tempfile.mkstemp(prefix=f".{Path(path).name}.", suffix=".png", dir=Path(path).parent)
    os.close(handle)
    figure.savefig(temporary, format="png", dpi=100)
    plt.close(figure)
    os.replace(temporary, path)
    return [axis.get_title() for axis in axes[0]]


def best_trial(trials):
    """The completed trial with the highest dev slot F1 (the earliest on a tie), or None."""
    completed = [t for t in trials if t["status"] == "COMPLETED" and t["score"] is not None
                 and math.isfinite(t["score"])]
    return max(completed, key=lambda t: t["score"], default=None)


def retrain_best(args, project_dir, trial):
    """Trains the best configuration for the full --epochs on the full training
    set and saves an ordinary run folder `best_trial_<id>` (skipped when that
    folder is already finished). Returns `(run_dir, metrics)`."""
    run_dir = Path(project_dir) / f"best_trial_{trial['trial_id']}"
    if (run_dir / "metrics.json").is_file():
        print(f"the best trial was retrained before: {run_dir}")
        return run_dir, json.loads((run_dir / "metrics.json").read_text(encoding="utf-8"))
    values = trial["values"]
    cell = values["cell"]
    run_args = common.make_parser(f"python -m recipes.{cell}", None).parse_args([])
    for name in common.MODEL_FLAGS:
        setattr(run_args, name, values[name])
    run_args.learning_rate = values["learning_rate"]
    for name in ("data", "epochs", "patience", "batch_size", "buckets", "seed", "verbose"):
        setattr(run_args, name, getattr(args, name))
    run_args.max_train, run_args.output_dir, run_args.resume = None, str(run_dir), False
    print(f"\nretraining trial {trial['trial_id']} ({describe_values(values)}) for up to {args.epochs} epochs "
          "on the full training set")
    metrics = common.train_run_folder(CELLS[cell], run_args, cell)
    return run_dir, metrics


def report(args, project_dir):
    """Writes the tables and the plot, prints the best trials and retrains the best one."""
    trials = load_trials(project_dir)
    table = write_tables(project_dir, trials)
    plot_search(table, args.cells, project_dir / "search.png")
    best = best_trial(trials)
    print(f"\n{len(trials)} trials in {project_dir}: results.csv, results.md, search.png")
    top = ranked(table).head(5)
    print(top[["trial_id", *HYPERPARAMETERS[:7], "val_slot_f1", "parameters", "status"]].to_string(index=False))
    summary = {"project_dir": str(project_dir), "trials": len(trials), "best_trial": None,
               "best_val_slot_f1": None, "best_run_dir": None, "test_f1": None}
    if best is None:
        raise SearchFailed(f"no trial finished in {project_dir} (see the error column of results.csv)")
    summary.update(best_trial=best["trial_id"], best_val_slot_f1=best["score"])
    print(f"best: trial {best['trial_id']}, {describe_values(best['values'])}: dev slot F1 {best['score']:.4f}")
    if args.retrain:
        run_dir, metrics = retrain_best(args, project_dir, best)
        best_run = {"run_dir": run_dir.name, "dev_f1": metrics["dev"]["f1"], "test_f1": metrics["test"]["f1"]}
        write_tables(project_dir, trials, best_run)
        summary.update(best_run_dir=str(run_dir), test_f1=metrics["test"]["f1"])
        print(f"best configuration retrained: {run_dir} (dev slot F1 {metrics['dev']['f1']:.4f}, "
              f"test slot F1 {metrics['test']['f1']:.4f})")
        print(f'tag sentences with it: python -m recipes.predict --model-dir {run_dir} "leave taipei on november 2nd"')
    return summary


# ---------------------------------------------------------------------------
# Running: one process, a chief or worker, or a chief and workers on this machine
# ---------------------------------------------------------------------------


def search(args, role, dataset):
    """Runs this process's part of the search (all of it, the chief's or a worker's)."""
    encoder = common.fit_encoder(dataset.train)
    tuner = make_tuner(args, SlotFillingHyperModel(args, encoder, dataset))
    if role == "chief":
        print(f"chief: serving trials on {os.environ['KERASTUNER_ORACLE_IP']}:{os.environ['KERASTUNER_ORACLE_PORT']}",
              flush=True)
    try:
        tuner.search(verbose=args.verbose)
    except RuntimeError as error:
        if "consecutive failures" not in str(error):
            raise
        trials = load_trials(Path(tuner.project_dir))
        write_tables(Path(tuner.project_dir), trials)
        errors = [trial["error"] for trial in trials if trial["error"]]
        raise SearchFailed(f"the search stopped: {tuner.oracle.max_consecutive_failed_trials} trials in a row failed "
                           f"(last: {errors[-1] if errors else 'no message'}); run again to retry") from error


def child_argv(args):
    """The flags of this search, spelled out for the chief and worker processes."""
    argv = ["--data", str(args.data), "--tuner", args.tuner, "--cells", ",".join(args.cells),
            "--heads", ",".join(args.heads), "--encoding", args.encoding,
            "--buckets", ",".join(map(str, args.buckets))]
    for name in ("min_depth", "max_depth", "min_units", "max_units", "min_dropout", "max_dropout",
                 "min_learning_rate", "max_learning_rate", "embedding_dim", "window", "epochs", "patience",
                 "batch_size", "max_train", "seed", "verbose", "max_trials", "executions_per_trial",
                 "directory", "project_name"):
        value = getattr(args, name)
        if value is not None:
            argv += ["--" + name.replace("_", "-"), repr(value) if isinstance(value, float) else str(value)]
    if args.bidirectional is not None:
        argv.append("--bidirectional" if args.bidirectional else "--no-bidirectional")
    if args.tuner == "hyperband":
        argv = [item for item in argv if item != "--max-trials"]
    return argv


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def stop_process(process, seconds=10):
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(seconds)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    return process.returncode


def run_distributed(args, project_dir):
    """Starts a chief and `args.workers` workers on 127.0.0.1, prints trials
    as they end, and stops the chief once every worker has exited."""
    port = free_port()
    logs = project_dir / "logs"
    logs.mkdir(exist_ok=True)
    env = dict(os.environ, KERASTUNER_ORACLE_IP="127.0.0.1", KERASTUNER_ORACLE_PORT=str(port),
               PYTHONUNBUFFERED="1")
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")]))
    argv = [sys.executable, "-m", "recipes.tune", *child_argv(args)]

    def start(tuner_id, extra=()):
        log = open(logs / f"{tuner_id}.log", "w", encoding="utf-8")
        with log:
            return subprocess.Popen([*argv, *extra], env=dict(env, KERASTUNER_TUNER_ID=tuner_id),
                                    stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)

    chief = start("chief", ["--serve-only"])
    workers = {f"tuner{i}": start(f"tuner{i}") for i in range(args.workers)}
    print(f"chief and {args.workers} workers on 127.0.0.1:{port}; their output: {logs}/", flush=True)
    reported = {trial["trial_id"] for trial in load_trials(project_dir) if trial["status"] in ("COMPLETED", "FAILED")}
    try:
        while True:
            for trial in load_trials(project_dir):
                if trial["status"] in ("COMPLETED", "FAILED") and trial["trial_id"] not in reported:
                    reported.add(trial["trial_id"])
                    score = f"val_slot_f1 {trial['score']:.4f}" if trial["score"] is not None else trial["status"]
                    print(f"trial {trial['trial_id']}: {describe_values(trial['values'])}: {score}", flush=True)
            if all(worker.poll() is not None for worker in workers.values()):
                break
            if chief.poll() is not None:
                # Without the chief no worker can go on: give them a moment to finish, then stop them.
                deadline = time.monotonic() + 30
                while time.monotonic() < deadline and any(w.poll() is None for w in workers.values()):
                    time.sleep(0.5)
                break
            time.sleep(0.5)
    finally:
        # Every worker has asked for a trial after the last one, so the
        # oracle has saved everything: the chief can stop now instead of at
        # its next 20-second check.
        for worker in workers.values():
            stop_process(worker)
        chief_code = stop_process(chief)
    failed = [f"worker {name} exited with code {worker.returncode} (see {logs / (name + '.log')})"
              for name, worker in workers.items() if worker.returncode != 0]
    if chief_code not in (0, -signal.SIGTERM):
        failed.append(f"the chief exited with code {chief_code} (see {logs / 'chief.log'})")
    if failed:
        write_tables(project_dir, load_trials(project_dir))
        raise SearchFailed("; ".join(failed))


def main(argv=None):
    parser = make_parser()
    args = parser.parse_args(argv)
    role = check_args(parser, args)
    try:
        dataset = common.load_data(args)  # a bad --data fails here, before anything is written
        project_dir = prepare_project(args, role)
        if role == "parent":
            run_distributed(args, project_dir)
        else:
            search(args, role, dataset)
            if role == "worker" or args.serve_only:
                return {"project_dir": str(project_dir)}
        return report(args, project_dir)
    except (common.UsageError, data.DatasetError) as error:
        print(f"{PROG}: error: {error}", file=sys.stderr)
        raise SystemExit(2)
    except (SearchFailed, common.TrainingDiverged) as error:
        print(f"{PROG}: error: {error}", file=sys.stderr)
        raise SystemExit(1)
    except KeyboardInterrupt:
        print(f"\n{PROG}: interrupted; run the same command again to resume the search", file=sys.stderr)
        raise SystemExit(130)


if __name__ == "__main__":
    main()
