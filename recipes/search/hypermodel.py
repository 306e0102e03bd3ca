"""The search space on keras-tuner's `HyperParameters`, and the hypermodel that builds and trains each trial.

    values = declare_space(hp, request, with_intents=True)   # {"cell": "gru", "depth": 2, ...}: this trial's
    settings = trial_settings(request, values)               # the trial as a `Settings`
    model = build_trial_model(encoder, values["cell"], settings)

A trial is one recipe's `build_model` (`CELLS`) with the values keras-tuner
picked for the searched options and the search's own for every other one
(`request.settings`): the values become a `Settings` once, and from there the
trial trains as a recipe run does (`recipes.training.trainer.train`).
"""

import dataclasses
import time
import zlib

import keras
import keras_tuner

from recipes import elman, gru, jordan, lstm, peephole_lstm
from recipes.config.errors import TrainingDiverged
from recipes.config.settings import OPTIONS, model_options
from recipes.model.parts import compile_model
from recipes.search.results import DEV_SCORES, HYPERPARAMETERS
from recipes.training.trainer import train

# Every cell the search may pick, and the recipe function that builds it.
CELLS = {
    "elman": elman.build_model,
    "jordan": jordan.build_model,
    "lstm": lstm.build_model,
    "peephole_lstm": peephole_lstm.build_model,
    "gru": gru.build_model,
}


def unit_choices(low, high):
    """Layer widths from `low` doubling up to `high` (and `high` itself): 32, 64, ..., 512."""
    values = []
    width = low
    while width < high:
        values.append(width)
        width *= 2
    return values + [high]


def declare_space(hp, request, with_intents=False):
    """Declares the search space on `hp` and returns this trial's values, in
    the order of `HYPERPARAMETERS`. A range whose ends are equal is fixed.

    `with_intents`: the models have an intent head (`--intent` and training
    data with intents); only then are the options searched `only_with_intents`
    (the intent loss's weight) in the space. The intent head's own options are fixed."""

    def choice(name, values):
        return hp.Fixed(name, values[0]) if len(values) == 1 else hp.Choice(name, list(values))

    def number(kind, name, low, high, sampling="linear"):
        if low == high:
            return hp.Fixed(name, low)
        return kind(name, low, high, sampling=sampling)

    values = {"cell": choice("cell", request.options.cells)}
    for name in HYPERPARAMETERS[1:]:
        search = OPTIONS[name].search
        if search is None:
            value = bool(with_intents) if name == "intent" else getattr(request.settings, name)
            values[name] = hp.Fixed(name, value)
        elif search.only_with_intents and not with_intents:
            continue
        elif search.kind == "choices":
            values[name] = choice(name, request.space[name])
        elif search.kind == "boolean":
            fixed = request.space[name]
            values[name] = hp.Boolean(name) if fixed is None else hp.Fixed(name, fixed)
        elif search.kind == "doubling":
            values[name] = choice(name, unit_choices(*request.space[name]))
        else:
            kind = hp.Int if search.kind == "int" else hp.Float
            values[name] = number(kind, name, *request.space[name], "log" if search.kind == "log" else "linear")
    return values


def trial_settings(base, values):
    """A trial's values (or a finished trial's, read back) over the search's settings `base`: every
    option the trial does not name keeps the search's value."""
    return dataclasses.replace(base, **{name: value for name, value in values.items() if name in OPTIONS})


def build_trial_model(encoder, cell, settings):
    """The model of one configuration, built by its recipe's `build_model` and
    compiled with its learning rate and intent loss weight."""
    model = CELLS[cell](encoder, **model_options(settings))
    return compile_model(model, settings.learning_rate, settings.intent_weight)


def describe_trial(cell, settings):
    """One line naming a trial: its cell, every option a search varies, and with an intent head the
    intent head's own ("gru depth 2 units 64 bidirectional dropout 0.2 ... intent weight 0.5")."""
    words = [cell]
    for name in HYPERPARAMETERS[1:]:
        declared = OPTIONS[name]
        if (declared.intent_only and not settings.intent) or not (declared.search or declared.intent_only):
            continue
        label, value = name.replace("_", " "), getattr(settings, name)
        if isinstance(value, bool):
            words.append(label if value else f"no {label}")
        elif value is None:
            words.append(f"{label} by default")
        else:
            words.append(f"{label} {value:.3g}" if isinstance(value, float) else f"{label} {value}")
    return " ".join(words)


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


class SlotFillingHyperModel(keras_tuner.HyperModel):
    """Builds a trial's model with a recipe's `build_model` and trains it with
    `recipes.training.trainer.train`, which scores dev after every epoch and stops
    early on the score `--objective` names.

    `fit` returns the dev scores of the trial's best epoch, `{"val_slot_f1": ...,
    "val_intent_accuracy": ..., "val_frame_accuracy": ..., ...}` (the last two
    with an intent head); keras-tuner maximises the objective's. Its own
    callbacks run after the dev monitor, so they see those scores in `logs`
    every epoch too.
    """

    def __init__(self, request, encoder, dataset):
        super().__init__(name="slot_filling")
        self.request, self.encoder, self.dataset = request, encoder, dataset
        self.with_intents = bool(request.settings.intent and encoder.intents)
        self.trial_id, self.execution = None, 0

    def start_trial(self, trial_id):
        self.trial_id, self.execution = trial_id, 0

    def build(self, hp):
        values = declare_space(hp, self.request, self.with_intents)
        # Each execution of each trial starts from its own reproducible weights.
        seed = self.request.settings.seed
        keras.utils.set_random_seed(zlib.crc32(f"{seed}:{self.trial_id}:{self.execution}".encode()))
        self.execution += 1
        return build_trial_model(self.encoder, values["cell"], trial_settings(self.request.settings, values))

    def fit(self, hp, model, *args, **kwargs):
        values = {key: hp.values[key] for key in HYPERPARAMETERS if key in hp.values}
        settings = dataclasses.replace(  # hyperband sets epochs and initial_epoch
            trial_settings(self.request.settings, values),
            epochs=kwargs.get("epochs", self.request.settings.epochs),
            verbose=kwargs.get("verbose", self.request.settings.verbose),
        )
        initial_epoch = kwargs.get("initial_epoch", 0)
        name = f"trial {self.trial_id}"
        if self.request.options.executions_per_trial > 1:
            name += f" (execution {self.execution} of {self.request.options.executions_per_trial})"
        print(f"{name}: {describe_trial(values['cell'], settings)}", flush=True)
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
        scores = best_epoch_scores(model, monitor, self.request.options.objective)
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
