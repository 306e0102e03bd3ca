"""Checkpoints after every epoch, and resuming an unfinished run from them.

`RUN/checkpoint/` holds, after every finished epoch:

    last.weights.h5   the compiled model's weights after the epoch, with the optimizer's
                      variables (step count, Adam moments): the one copy of the optimizer's state
    best.weights.h5   the layers' weights of the best dev epoch so far (no optimizer state)
    state.json        {"format": "slot-rnn-checkpoint-state", "version": 2, "epochs_done": 3,
                       "best_score": 0.97, "best_epoch": 2, "wait": 1, "stopped": false,
                       "train_seconds": 41.2, "seed_states": [...], "optimizer_file": "last.weights.h5"}

"best_score" is the best dev score of the kind the run monitors (slot F1 or
frame accuracy), "seed_states" the states of dropout's random seed generators.
Checkpoints of version 1 (`state.json` without a version, `"best_f1"` for
`"best_score"`) also hold `optimizer.npz`, the optimizer's variables as a NumPy
archive, and both weights files of the compiled model; they are read through
`recipes.config.formats.CHECKPOINT_STATE`'s migration, whose "optimizer_file"
then names `optimizer.npz`, restored after `last.weights.h5` as it was written.

An epoch's files are first written under names of that epoch
(`epoch-3.last.weights.h5`); `state.json`, written last, commits them, and
`commit_checkpoint` moves them into place (and deletes an `optimizer.npz` that a
resumed version 1 checkpoint left). A run killed while saving so resumes from one
consistent epoch, and `--resume` ends with exactly the weights and scores of an
uninterrupted run.
"""

import dataclasses
import json
import warnings
from pathlib import Path

import keras
import numpy as np

import data
from data.atomic import PARTIAL_GLOB, atomic_path, atomic_write_text, replace
from recipes.config.errors import UsageError, one_line
from recipes.config.formats import CHECKPOINT_STATE, RUN_CONFIG, read_versioned, stamped
from recipes.config.settings import MONITORS, RESUMED, model_options
from recipes.model.parts import compile_model, inference_view
from recipes.training.run_folder import trim_history

# The file that holds the optimizer's state: last.weights.h5 in what is written now, optimizer.npz in a
# version 1 checkpoint.
OPTIMIZER_FILES = ("last.weights.h5", "optimizer.npz")
CHECKPOINT_FILES = ("best.weights.h5", "last.weights.h5")
CHECKPOINT_STATE_KEYS = {
    "epochs_done": int,
    "best_score": (int, float),
    "best_epoch": int,
    "wait": int,
    "stopped": bool,
    "train_seconds": (int, float),
}


def staged_name(name, epochs_done):
    return f"epoch-{epochs_done}.{name}"


def seed_state_variables(model):
    """The states of the model's random seed generators (dropout masks): not
    among its weights, but needed for a resumed run to draw the same masks."""
    weights = {id(variable) for variable in model.weights}
    return [v for v in model.variables if id(v) not in weights and v.name == "seed_generator_state"]


def save_weights(model, path):
    with atomic_path(path) as temporary:
        model.save_weights(temporary)


def load_optimizer_state(model, path):
    """Restores a version 1 checkpoint's `optimizer.npz` (the optimizer's variables
    in order, as a NumPy archive) into a compiled `model`."""
    model.optimizer.build(model.trainable_variables)
    with np.load(path, allow_pickle=False) as saved:
        values = [saved[f"arr_{i}"] for i in range(len(saved.files))]
    if len(values) != len(model.optimizer.variables):
        raise UsageError(
            f"{path}: holds {len(values)} optimizer variables, the model needs {len(model.optimizer.variables)}"
        )
    for variable, value in zip(model.optimizer.variables, values):
        variable.assign(value)


def save_best_weights(model, path):
    """Saves the layers' weights alone, through an uncompiled view of the same layers."""
    save_weights(inference_view(model), path)


def load_best_weights(model, path):
    """Restores what `save_best_weights` saved (or a version 1 `best.weights.h5`, whose
    optimizer variables are not read) into the layers of `model`."""
    inference_view(model).load_weights(path)


def write_checkpoint(folder, model, state, is_best):
    """Saves the epoch `state["epochs_done"]`: the best weights when `is_best`, the
    last weights with the optimizer's state, then `state.json` with the seed states,
    which commits them."""
    folder = Path(folder)
    epochs_done = state["epochs_done"]
    folder.mkdir(parents=True, exist_ok=True)
    if is_best:
        save_best_weights(model, folder / staged_name("best.weights.h5", epochs_done))
    save_weights(model, folder / staged_name("last.weights.h5", epochs_done))
    seed_states = [keras.ops.convert_to_numpy(v).tolist() for v in seed_state_variables(model)]
    state = stamped(CHECKPOINT_STATE, {**state, "seed_states": seed_states, "optimizer_file": "last.weights.h5"})
    atomic_write_text(folder / "state.json", json.dumps(state, indent=2))
    commit_checkpoint(folder, state)


def checkpoint_files(state):
    """The files of the checkpoint that `state` (as `read_state` returns it) records."""
    return (*CHECKPOINT_FILES, "optimizer.npz") if state["optimizer_file"] == "optimizer.npz" else CHECKPOINT_FILES


def commit_checkpoint(folder, state):
    """Moves the files staged for the epoch that `state` records into place, and
    deletes what a run killed while saving left: files staged for an epoch
    state.json never recorded, half-written files, and the `optimizer.npz` of a
    version 1 checkpoint once a later checkpoint no longer needs it."""
    folder = Path(folder)
    files = checkpoint_files(state)
    for name in files:
        staged = folder / staged_name(name, state["epochs_done"])
        if staged.is_file():
            replace(staged, folder / name)
    stale = [folder / "optimizer.npz"] if "optimizer.npz" not in files and (folder / "optimizer.npz").is_file() else []
    for leftover in [*folder.glob("epoch-*"), *folder.glob(PARTIAL_GLOB), *stale]:
        leftover.unlink()


def read_state(state_path):
    """`state.json` at the current version, checked key by key; `UsageError` naming the file otherwise."""
    state = read_versioned(state_path, CHECKPOINT_STATE)
    for key, kind in CHECKPOINT_STATE_KEYS.items():
        value = state.get(key)
        if not isinstance(value, kind) or (kind is not bool and isinstance(value, bool)):
            raise UsageError(f"{state_path}: {key!r} is missing or of the wrong type ({value!r})")
    if state["epochs_done"] < 1:
        raise UsageError(f"{state_path}: 'epochs_done' must be at least 1, got {state['epochs_done']}")
    if state.get("optimizer_file") not in OPTIMIZER_FILES:
        raise UsageError(
            f"{state_path}: 'optimizer_file' must be one of {', '.join(OPTIMIZER_FILES)}, "
            f"got {state.get('optimizer_file')!r}"
        )
    return state


def resumed_settings(settings, run_dir):
    """`settings` with the options a resumed run keeps from its `config.json` (`settings.RESUMED`:
    the model, the intent loss's weight it trained with, whose default follows the head, and the
    dev score its best epoch so far was chosen by); the command line chooses data, batches and seed."""
    config_path = Path(run_dir) / "config.json"
    saved = read_versioned(config_path, RUN_CONFIG)
    for key in RESUMED:
        if key not in saved:
            raise UsageError(f"{config_path}: {key!r} is missing")
    if saved["monitor"] not in MONITORS:
        raise UsageError(f"{config_path}: 'monitor' must be one of {', '.join(MONITORS)}, got {saved['monitor']!r}")
    return dataclasses.replace(settings, **{key: saved[key] for key in RESUMED})


def resume_model(build_model, settings, run_dir):
    """The settings, model, encoder and checkpoint state of the unfinished run
    in `run_dir`, as its last finished epoch left them; the settings take the
    model flags of its `config.json`. A missing or damaged file raises
    `UsageError` naming it."""
    checkpoint = Path(run_dir) / "checkpoint"
    state_path, config_path = checkpoint / "state.json", Path(run_dir) / "config.json"
    state = read_state(state_path)
    settings = resumed_settings(settings, run_dir)
    commit_checkpoint(checkpoint, state)
    # Rows of an epoch logged but never checkpointed go: that epoch runs again.
    trim_history(Path(run_dir) / "history.csv", state["epochs_done"])
    encoder = data.Encoder.load(Path(run_dir) / "encoder.json")
    try:
        model = build_model(encoder, **model_options(settings))
        compile_model(model, settings.learning_rate, settings.intent_weight)
        model.optimizer.build(model.trainable_variables)
    except Exception as error:
        raise UsageError(f"{config_path}: its model flags do not build a model ({one_line(error)})") from None
    if state["optimizer_file"] == "optimizer.npz":  # a version 1 checkpoint: restored as it was written
        _restore(checkpoint / "last.weights.h5", model.load_weights)
        _restore(checkpoint / "optimizer.npz", lambda path: load_optimizer_state(model, path))
    else:
        _restore(checkpoint / "last.weights.h5", lambda path: load_weights_and_optimizer(model, path))
    _restore_seed_states(model, state, state_path)
    return settings, model, encoder, state


def load_weights_and_optimizer(model, path):
    """Restores the weights and the optimizer's state that `save_weights` saved
    into a compiled `model` whose optimizer is built; `UsageError` when the file
    holds no optimizer state (Keras would only warn, and training would go on
    from a fresh optimizer)."""
    model.optimizer.iterations.assign(-1)
    model.load_weights(path)
    if int(keras.ops.convert_to_numpy(model.optimizer.iterations)) == -1:
        raise UsageError(f"{path}: holds no optimizer state (a weights file of the model alone)")


def _restore(path, restore):
    if not path.is_file():
        raise UsageError(f"{path}: missing")
    try:
        with warnings.catch_warnings(record=True) as caught:  # kept quiet when loading fails
            warnings.simplefilter("always")
            restore(path)
    except UsageError:
        raise
    except ValueError as error:
        if path.suffix == ".h5":  # a weights file of other shapes
            raise UsageError(
                f"{path}: does not fit the model that config.json and encoder.json describe ({one_line(error)})"
            ) from None
        raise UsageError(f"{path}: cannot be loaded ({one_line(error)})") from None
    except Exception as error:
        raise UsageError(f"{path}: cannot be loaded ({one_line(error)})") from None
    for warning in caught:
        warnings.warn_explicit(warning.message, warning.category, warning.filename, warning.lineno)


def _restore_seed_states(model, state, state_path):
    """Sets the seed generators' states that `state.json` saved; null (a version 1
    checkpoint written before they were saved) leaves the ones the model was built with."""
    if state["seed_states"] is None:
        return
    variables = seed_state_variables(model)
    try:
        if not isinstance(state["seed_states"], list):
            raise TypeError("expected a list")
        values = [np.asarray(value, dtype="uint32") for value in state["seed_states"]]
        if len(values) != len(variables) or any(v.shape != tuple(w.shape) for v, w in zip(values, variables)):
            raise ValueError(f"{len(values)} seed states for {len(variables)} seed generators")
    except (TypeError, ValueError, OverflowError) as error:
        raise UsageError(f"{state_path}: 'seed_states' does not fit the model ({one_line(error)})") from None
    for variable, value in zip(variables, values):
        variable.assign(value)
