"""Training: fit on length-bucketed batches, score dev after every epoch, stop early.

    monitor = train(model, encoder, dataset, settings, run_dir)
    monitor.best_score, monitor.best_epoch      # the model now holds that epoch's weights

`train` is the one place where `model.fit` runs. After every epoch
`SlotF1Monitor` tags the dev split and scores it: slot F1 with conlleval
semantics (`logs["val_slot_f1"]`) and, with an intent head, the intent and
frame accuracy (`logs["val_intent_accuracy"]`, `logs["val_frame_accuracy"]`).
It keeps the best weights by the score `settings.monitor` names and stops
after `patience` epochs without a better one (`EarlyStopping`, which
`replay_early_stopping` also runs on a finished run's logged scores), or at
once on a NaN loss; then a checkpoint (`checkpoints.py`) is written, which
`--resume` continues from.
"""

import dataclasses
import math
import time
from pathlib import Path

import keras

from data.batching import DEFAULT_BUCKETS, encode_split, make_batches
from recipes.config.errors import TrainingDiverged, UsageError
from recipes.inference.engines import KerasEngine, predict_batches
from recipes.model import scoring
from recipes.model.parts import crf_layer, has_intent, model_input_features
from recipes.training.checkpoints import load_best_weights, write_checkpoint


class TrainingBatches(keras.utils.PyDataset):
    """Length-bucketed training batches, reshuffled every epoch from the seed."""

    def __init__(self, encoded, batch_size, features, seed, epoch=0, with_weights=True, buckets=DEFAULT_BUCKETS):
        super().__init__()
        self.encoded, self.batch_size, self.features, self.buckets = encoded, batch_size, features, buckets
        self.seed, self.epoch, self.with_weights = seed, epoch, with_weights
        self._shuffle()

    def _shuffle(self):
        self.batches = make_batches(
            self.encoded,
            self.batch_size,
            features=self.features,
            buckets=self.buckets,
            shuffle=True,
            seed=self.seed * 100_003 + self.epoch,
        )

    def __len__(self):
        return len(self.batches)

    def __getitem__(self, index):
        batch = self.batches[index]
        if batch.intents is not None:
            targets = {"tags": batch.tags, "intent": batch.intents}
            if self.with_weights:
                return batch.inputs, targets, {"tags": batch.weights, "intent": (batch.intents >= 0).astype("float32")}
            return batch.inputs, targets
        if self.with_weights:
            return batch.inputs, batch.tags, batch.weights
        return batch.inputs, batch.tags

    def on_epoch_end(self):
        self.epoch += 1
        self._shuffle()


def fit_input(batches):
    """What `model.fit` reads: the PyDataset itself, or on TensorFlow a
    `tf.data.Dataset` whose declared shapes let the sentence length vary."""
    if keras.backend.backend() != "tensorflow":
        return batches
    import tensorflow as tf

    first = batches[0]

    def spec(array):
        return tf.TensorSpec(shape=(None,) * array.ndim, dtype=array.dtype)

    signature = tuple(
        {key: spec(value) for key, value in part.items()} if isinstance(part, dict) else spec(part) for part in first
    )  # inputs, targets and weights: each an array or a dict of them

    def generate():
        for index in range(len(batches)):
            yield batches[index]
        batches.on_epoch_end()

    dataset = tf.data.Dataset.from_generator(generate, output_signature=signature)
    return dataset.apply(tf.data.experimental.assert_cardinality(len(batches)))


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


class SlotF1Monitor(keras.callbacks.Callback):
    """Dev scores after every epoch (`logs["val_slot_f1"]`, and with an intent
    head `logs["val_intent_accuracy"]` and `logs["val_frame_accuracy"]`), early
    stopping on the one `monitor` names, the best weights kept, a stop on a NaN
    loss, and a checkpoint that `--resume` continues from.

    It must come first in the callback list: the callbacks after it (CSV and
    TensorBoard logs, keras-tuner) read the scores it adds to `logs`.
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
        ids, intent_probabilities = predict_batches(self.engine, self.dev_batches)
        predicted = [self.encoder.decode_tags(ids[i]) for i in range(len(self.dev_split))]
        logs["val_slot_f1"] = scoring.score(self.dev_split.tags, predicted)["f1"]
        if intent_probabilities is not None and self.dev_split.intents is not None:
            intents = [self.encoder.decode_intent(intent_probabilities[i].argmax()) for i in range(len(predicted))]
            scores = scoring.intent_scores(self.dev_split.intents, intents, self.dev_split.tags, predicted)
            logs["val_intent_accuracy"] = scores["intent_accuracy"]
            logs["val_frame_accuracy"] = scores["frame_accuracy"]
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

    def checkpoint(self, epochs_done):
        """Writes the checkpoint of epoch `epochs_done` (see `checkpoints.write_checkpoint`)."""
        state = {
            "epochs_done": epochs_done,
            "best_score": self.best_score,
            "best_epoch": self.best_epoch,
            "wait": self.wait,
            "stopped": bool(self.model.stop_training),
            "train_seconds": self.train_seconds_before + time.perf_counter() - self.started,
        }
        write_checkpoint(self.checkpoint_dir, self.model, state, is_best=self.best_epoch == epochs_done)

    def restore_best(self):
        if self.best_weights is not None:
            self.model.set_weights(self.best_weights)
        elif self.checkpoint_dir and (Path(self.checkpoint_dir) / "best.weights.h5").is_file():
            load_best_weights(self.model, Path(self.checkpoint_dir) / "best.weights.h5")


class CheckpointAfterLogs(keras.callbacks.Callback):
    """Writes the monitor's checkpoint once the callbacks before this one
    (history.csv) have logged the epoch: history.csv then holds every epoch
    the checkpoint counts, and `checkpoints.resume_model` drops the rows of any later one."""

    def __init__(self, monitor):
        super().__init__()
        self.monitor = monitor

    def on_epoch_end(self, epoch, logs=None):
        if not self.monitor.diverged:
            self.monitor.checkpoint(epoch + 1)


def check_monitor(model, dataset, monitor):
    """Raises `UsageError` when the dev score `monitor` names cannot be computed."""
    if monitor != "slot_f1" and not (has_intent(model) and dataset.dev.intents is not None):
        raise UsageError(f"--monitor {monitor}: needs a model with an intent head and dev sentences with intents")


def train(
    model, encoder, dataset, settings, run_dir=None, extra_callbacks=(), initial_epoch=0, state=None, engine=None
):
    """Fits `model` on `dataset.train`, scores dev after every epoch, stops
    early on the dev score `settings.monitor` names (slot F1 by default) and
    leaves the best epoch's weights in the model.

    `engine` tags dev after every epoch (default: a `KerasEngine` of `model`).
    Returns the `SlotF1Monitor` (best score and epoch in `best_score`, `best_epoch`).
    """
    check_monitor(model, dataset, settings.monitor)
    features = model_input_features(model)
    with_weights = crf_layer(model) is None
    buckets = settings.buckets
    batches = TrainingBatches(
        encode_split(encoder, dataset.train, with_intents=has_intent(model)),
        settings.batch_size,
        features,
        settings.seed,
        initial_epoch,
        with_weights,
        buckets,
    )
    dev_batches = make_batches(
        encode_split(encoder, dataset.dev, with_tags=False), 64, features=features, buckets=buckets
    )
    checkpoint_dir = Path(run_dir) / "checkpoint" if run_dir else None
    monitor = SlotF1Monitor(
        encoder, dataset.dev, dev_batches, settings.patience, checkpoint_dir, state, settings.monitor, engine
    )
    callbacks = [monitor]
    if run_dir:
        callbacks.append(keras.callbacks.CSVLogger(str(Path(run_dir) / "history.csv"), append=initial_epoch > 0))
        tensorboard = tensorboard_callback(Path(run_dir) / "logs")
        if tensorboard:
            callbacks.append(tensorboard)
    if checkpoint_dir:
        callbacks.append(CheckpointAfterLogs(monitor))
    callbacks.extend(extra_callbacks)
    if state and state.get("stopped"):
        monitor.restore_best()
        return monitor
    model.fit(
        fit_input(batches),
        epochs=settings.epochs,
        initial_epoch=initial_epoch,
        shuffle=False,  # `TrainingBatches` shuffles from the seed and the epoch, so a resumed run sees the same order
        callbacks=callbacks,
        verbose=settings.verbose,
    )
    monitor.restore_best()
    if monitor.diverged:
        if monitor.best_epoch:
            kept = f"the weights of epoch {monitor.best_epoch}, the best so far, are kept"
            if checkpoint_dir:
                kept += f" in {checkpoint_dir / 'best.weights.h5'}"
        else:
            kept = "no epoch finished, so no weights are kept"
        raise TrainingDiverged(
            f"training stopped: the loss became NaN or infinite in epoch {monitor.current_epoch} "
            f"(try a lower --learning-rate); {kept}"
        )
    return monitor


def tensorboard_callback(log_dir):
    try:
        import tensorboard  # noqa: F401
        import tensorflow  # noqa: F401
    except ImportError:
        return None
    return keras.callbacks.TensorBoard(log_dir=str(log_dir), write_graph=False, profile_batch=0)
