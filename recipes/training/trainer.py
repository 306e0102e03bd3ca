"""Training: the loss and optimizer, length-bucketed batches, and the one place where `model.fit` runs.

    compile_model(model, settings.learning_rate, settings.intent_weight)
    monitor = train(model, encoder, dataset, settings, run_dir)
    monitor.best_score, monitor.best_epoch      # the model now holds that epoch's weights

After every epoch the dev split is scored, training stops early on the score
`settings.monitor` names and a checkpoint is written (`monitor.py`).
"""

from pathlib import Path

import keras

from data.batching import DEFAULT_BUCKETS, encode_split, make_batches
from recipes.config.errors import TrainingDiverged
from recipes.model.description import crf_layer, has_intent, model_input_features
from recipes.training.monitor import DevMonitor, EpochCheckpoint, check_monitor


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


def keras_input(batches):
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


def train(
    model, encoder, dataset, settings, run_dir=None, extra_callbacks=(), initial_epoch=0, state=None, engine=None
):
    """Fits `model` on `dataset.train`, scores dev after every epoch, stops
    early on the dev score `settings.monitor` names (slot F1 by default) and
    leaves the best epoch's weights in the model.

    `engine` tags dev after every epoch (default: a `KerasEngine` of `model`).
    Returns the `DevMonitor` (best score and epoch in `best_score`, `best_epoch`).
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
    monitor = DevMonitor(
        encoder, dataset.dev, dev_batches, settings.patience, checkpoint_dir, state, settings.monitor, engine
    )
    callbacks = [monitor]
    if run_dir:
        callbacks.append(keras.callbacks.CSVLogger(str(Path(run_dir) / "history.csv"), append=initial_epoch > 0))
        tensorboard = tensorboard_callback(Path(run_dir) / "logs")
        if tensorboard:
            callbacks.append(tensorboard)
    if checkpoint_dir:
        callbacks.append(EpochCheckpoint(monitor, checkpoint_dir))
    callbacks.extend(extra_callbacks)
    if state and state.get("stopped"):
        monitor.restore_best()
        return monitor
    model.fit(
        keras_input(batches),
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
