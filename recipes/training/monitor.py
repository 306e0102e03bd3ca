"""What training watches after every epoch: the dev scores, early stopping, the best weights, checkpoints.

    monitor = DevMonitor(encoder, dataset.dev, dev_batches, patience, checkpoint_dir, state, "slot_f1", engine)
    callbacks = [monitor, keras.callbacks.CSVLogger(...), EpochCheckpoint(monitor, checkpoint_dir)]

After every epoch `DevMonitor` tags the dev split and scores it (`score_dev`):
slot F1 with conlleval semantics (`logs["val_slot_f1"]`) and, with an intent
head, the intent and frame accuracy (`logs["val_intent_accuracy"]`,
`logs["val_frame_accuracy"]`). It keeps the best weights by the score
`monitor` names and stops after `patience` epochs without a better one
(`EarlyStopping`, which `replay_early_stopping` also runs on a finished run's
logged scores), or at once on a NaN loss; then `EpochCheckpoint` writes the
checkpoint that `--resume` continues from.
"""

import dataclasses
import math
import time
from pathlib import Path

import keras

from recipes.config.errors import UsageError
from recipes.inference.engines import KerasEngine, predict_batches
from recipes.model import scoring
from recipes.model.description import has_intent
from recipes.training.checkpoints import load_best_weights, write_checkpoint


@dataclasses.dataclass
class EarlyStopping:
    """The stopping rule of training, apart from Keras so that it can also be
    replayed on the dev scores a finished run logged (`replay_early_stopping`).

    An epoch improves when its dev score beats the best so far; training stops
    after `patience` epochs in a row without an improvement, or at once when
    the dev score is perfect (1.0), since nothing can beat it.
    """

    patience: int
    best: float = -1.0  # the best dev score so far
    best_epoch: int = 0  # its epoch, counted from 1; 0 before the first
    wait: int = 0  # epochs since the best one

    def update(self, epoch, score):
        """Takes the dev score of epoch `epoch` (from 1); returns (improved, stop)."""
        if score > self.best:
            self.best, self.best_epoch, self.wait = score, epoch, 0
            return True, score >= 1.0
        self.wait += 1  # NaN never improves
        return False, self.wait >= self.patience


def replay_early_stopping(scores, patience):
    """(best epoch, epochs trained) of a run whose dev scores after each epoch
    were `scores`, had it stopped early with `patience`.

    Training is the same epoch for epoch until a run stops, so a run logged
    with a patience of P tells exactly where any patience up to P would have
    stopped and which epoch it would have kept. When the scores end before the
    rule stops (the run's epoch limit), all of them count as trained.
    """
    rule = EarlyStopping(patience)
    for epoch, score in enumerate(scores, start=1):
        if rule.update(epoch, score)[1]:
            return rule.best_epoch, epoch
    return rule.best_epoch, len(scores)


def score_dev(engine, encoder, split, batches):
    """The dev scores of one epoch, as `logs` holds them: `val_slot_f1` (conlleval), and with
    an intent head and gold intents `val_intent_accuracy` and `val_frame_accuracy`.
    `batches` are the split's, made once (`data.batching.make_batches`)."""
    ids, intent_probabilities = predict_batches(engine, batches)
    predicted = [encoder.decode_tags(ids[i]) for i in range(len(split))]
    scores = {"val_slot_f1": scoring.score(split.tags, predicted)["f1"]}
    if intent_probabilities is not None and split.intents is not None:
        intents = [encoder.decode_intent(intent_probabilities[i].argmax()) for i in range(len(predicted))]
        frames = scoring.intent_scores(split.intents, intents, split.tags, predicted)
        scores["val_intent_accuracy"] = frames["intent_accuracy"]
        scores["val_frame_accuracy"] = frames["frame_accuracy"]
    return scores


class DevMonitor(keras.callbacks.Callback):
    """What training watches, epoch by epoch: the dev scores (`score_dev`, into `logs`),
    the early stopping rule on the one `monitor` names (`EarlyStopping`), the best
    epoch's weights, and a NaN or infinite loss, which stops training at once.

    It must come first in the callback list: the callbacks after it (CSV and
    TensorBoard logs, the checkpoint, keras-tuner) read the scores it adds to `logs`.
    """

    def __init__(
        self, encoder, dev_split, dev_batches, patience, checkpoint_dir=None, state=None, monitor="slot_f1", engine=None
    ):
        super().__init__()
        self.engine = engine  # what tags dev: `KerasEngine(model)`, made once
        self.encoder, self.dev_split, self.dev_batches = encoder, dev_split, dev_batches
        self.checkpoint_dir = checkpoint_dir
        self.monitor = monitor
        state = state or {}  # a checkpoint's state.json, at the current version (`checkpoints.read_state`)
        self.stopping = EarlyStopping(
            patience, state.get("best_score", -1.0), state.get("best_epoch", 0), state.get("wait", 0)
        )
        self.train_seconds_before = state.get("train_seconds", 0.0)
        self.best_weights = None
        self.diverged = False
        self.current_epoch = 0
        self._epoch_start = None
        self.started = time.perf_counter()

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch_start = time.perf_counter()
        self.current_epoch = epoch + 1

    def on_train_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is not None and not math.isfinite(float(loss)):
            self.diverged = True
            self.model.stop_training = True

    def on_epoch_end(self, epoch, logs=None):
        logs = logs if logs is not None else {}
        logs["seconds"] = time.perf_counter() - self._epoch_start
        if self.diverged:
            logs["val_slot_f1"] = float("nan")
            return
        if self.engine is None:
            self.engine = KerasEngine(self.model)
        logs.update(score_dev(self.engine, self.encoder, self.dev_split, self.dev_batches))
        improved, stop = self.stopping.update(epoch + 1, logs[f"val_{self.monitor}"])
        if improved:
            self.best_weights = self.model.get_weights()
        if stop:
            self.model.stop_training = True

    @property
    def best_score(self):
        """The best dev score so far of the monitored kind (`monitor`)."""
        return self.stopping.best

    @property
    def best_epoch(self):
        return self.stopping.best_epoch

    @property
    def wait(self):
        return self.stopping.wait

    def state(self, epochs_done):
        """What a checkpoint after epoch `epochs_done` records of training (`checkpoint/state.json`)."""
        return {
            "epochs_done": epochs_done,
            "best_score": self.best_score,
            "best_epoch": self.best_epoch,
            "wait": self.wait,
            "stopped": bool(self.model.stop_training),
            "train_seconds": self.train_seconds_before + time.perf_counter() - self.started,
        }

    def restore_best(self):
        if self.best_weights is not None:
            self.model.set_weights(self.best_weights)
        elif self.checkpoint_dir and (Path(self.checkpoint_dir) / "best.weights.h5").is_file():
            load_best_weights(self.model, Path(self.checkpoint_dir) / "best.weights.h5")


class EpochCheckpoint(keras.callbacks.Callback):
    """Writes a checkpoint after every epoch that did not diverge (`checkpoints.write_checkpoint`),
    once the callbacks before this one (history.csv) have logged the epoch: history.csv then
    holds every epoch the checkpoint counts, and `checkpoints.resume_model` drops the rows of any later one."""

    def __init__(self, monitor, folder):
        super().__init__()
        self.monitor, self.folder = monitor, folder

    def on_epoch_end(self, epoch, logs=None):
        if not self.monitor.diverged:
            epochs_done = epoch + 1
            is_best = self.monitor.best_epoch == epochs_done
            write_checkpoint(self.folder, self.model, self.monitor.state(epochs_done), is_best=is_best)


def check_monitor(model, dataset, monitor):
    """Raises `UsageError` when the dev score `monitor` names cannot be computed."""
    if monitor != "slot_f1" and not (has_intent(model) and dataset.dev.intents is not None):
        raise UsageError(f"--monitor {monitor}: needs a model with an intent head and dev sentences with intents")
