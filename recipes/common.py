"""What every recipe shares: flags, input encodings, tag heads, training, scoring and run folders.

A recipe only says which recurrent layer it stacks (its `build_model`); this
module does the rest:

    args = parse_args(argv, ...)                 # shared flags, one-line errors
    dataset = load_data(args)                    # built-in name, folder or file
    encoder = fit_encoder(dataset.train, args)   # word ids, trigrams, tag ids
    model = build_model(encoder, **model_options(args))
    train(model, encoder, dataset, args, run_dir)   # dev slot F1 each epoch, early stop
    evaluate + write the run folder              # metrics.json, test_predictions.txt, ...

`run_recipe(build_model, ...)` chains all of it; each recipe's `main()` calls it.
"""

import argparse
import contextlib
import csv
import datetime
import json
import math
import os
import sys
import time
import unicodedata
import warnings
import weakref
from pathlib import Path

import keras
import numpy as np

import data
from custom_layers import CRF, ContextWindow, OneHot, TrigramEmbedding, bio_transition_mask
from data.batching import DEFAULT_BUCKETS, PAD_TAG, encode_split, make_batches
from recipes import scoring

ENCODINGS = ("onehot", "embedding", "trigram", "embedding+trigram")
HEADS = ("softmax", "crf")
LECTURE_SENTENCES = (
    "i would like to arrive taipei on november 2nd",
    "leave taipei on november 2nd",
)
RUN_FILES = ("model.keras", "encoder.json", "metrics.json", "history.csv", "test_predictions.txt")


class UsageError(Exception):
    """A bad flag or path; the command line prints it on one line and exits 2."""


# ---------------------------------------------------------------------------
# Flags
# ---------------------------------------------------------------------------


class Parser(argparse.ArgumentParser):
    """argparse with errors on one line (`prog: error: ...`) and exit code 2."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message}\n")


def _bounded(kind, low=None, high=None, low_open=False, high_open=False):
    def parse(text):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {'an integer' if kind is int else 'a number'}, got {text!r}")
        if not math.isfinite(value):
            raise argparse.ArgumentTypeError(f"expected a finite number, got {text!r}")
        too_low = low is not None and (value <= low if low_open else value < low)
        too_high = high is not None and (value >= high if high_open else value > high)
        if too_low or too_high:
            left = "(" if low_open else "["
            right = ")" if high_open else "]"
            span = f"{left}{low if low is not None else '-inf'}, {high if high is not None else 'inf'}{right}"
            raise argparse.ArgumentTypeError(f"expected a value in {span}, got {text!r}")
        return value

    return parse


def bucket_list(text):
    """`"8,16,32"` -> `(8, 16, 32)`: increasing positive padded lengths."""
    try:
        values = tuple(int(part) for part in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected increasing positive integers separated by commas, got {text!r}")
    if not values or values[0] < 1 or any(b <= a for a, b in zip(values, values[1:])):
        raise argparse.ArgumentTypeError(f"expected increasing positive integers separated by commas, got {text!r}")
    return values


positive_int = _bounded(int, low=1)
non_negative_int = _bounded(int, low=0)
dropout_rate = _bounded(float, low=0.0, high=1.0, high_open=True)
positive_float = _bounded(float, low=0.0, low_open=True)
seed_value = _bounded(int, low=0, high=2**32 - 1)  # what keras.utils.set_random_seed accepts
# Model and batch sizes: far beyond anything slot filling needs, low enough that a typo
# (`--units 1000000`) is refused at once instead of exhausting memory minutes later.
layer_count = _bounded(int, low=1, high=64)
layer_width = _bounded(int, low=1, high=16384)
window_size = _bounded(int, low=0, high=32)
batch_size = _bounded(int, low=1, high=65536)


def make_parser(prog, description, defaults=None):
    """The shared flags of every recipe; `defaults` overrides per recipe."""
    defaults = {
        "data": "travel",
        "encoding": "embedding+trigram",
        "embedding_dim": 100,
        "window": 1,
        "depth": 2,
        "units": 128,
        "bidirectional": True,
        "dropout": 0.3,
        "head": "softmax",
        "learning_rate": 0.005,
        "epochs": 30,
        "patience": 5,
        "batch_size": 32,
        "seed": 0,
        **(defaults or {}),
    }
    parser = Parser(
        prog=prog,
        description=description,
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    add = parser.add_argument
    add("--data", help="dataset: a built-in name (travel; atis or snips once downloaded), "
        "a folder with train/dev/test seq.in+seq.out, or a CoNLL, CSV or TSV file")
    add("--encoding", choices=ENCODINGS, help="how words enter the network: 1-of-N with an OTHER "
        "dimension, learned word vectors, letter trigrams, or vectors and trigrams together")
    add("--embedding-dim", type=layer_width, help="size of learned word and trigram vectors")
    add("--word-vectors", metavar="FILE", help="start the word vectors from a GloVe/word2vec text file "
        "(its dimension must equal --embedding-dim; words it lacks start random)")
    add("--window", type=window_size, help="words on each side concatenated to each word "
        "before the recurrent layers (0: each word alone)")
    add("--depth", type=layer_count, help="number of stacked recurrent layers")
    add("--units", type=layer_width, help="units per layer and direction")
    add("--bidirectional", action=argparse.BooleanOptionalAction,
        help="read each sentence in both directions")
    add("--dropout", type=dropout_rate, help="dropout on word features and between layers")
    add("--head", choices=HEADS, help="tag head: an independent softmax per word, or a "
        "linear-chain CRF that scores whole tag sequences")
    add("--learning-rate", type=positive_float, help="Adam learning rate (gradients clipped to norm 5)")
    add("--epochs", type=positive_int, help="most epochs to train")
    add("--patience", type=positive_int, help="stop after this many epochs without a better dev slot F1")
    add("--batch-size", type=batch_size, help="sentences per batch")
    add("--buckets", type=bucket_list, help="padded sentence lengths, comma-separated: each batch holds "
        "sentences of one bucket, padded to its length (longer ones to multiples of the last)")
    add("--max-train", type=positive_int, help="use at most this many training sentences (quick trials)")
    add("--seed", type=seed_value, help="seed of weights, shuffling and dropout")
    add("--output-dir", help="run folder (default: a new folder under runs/)")
    add("--resume", action="store_true", help="continue the unfinished run in --output-dir from its last epoch")
    add("--verbose", type=_bounded(int, 0, 2), help="Keras progress output: 0 silent, 1 progress bar, 2 a line per epoch")
    parser.set_defaults(verbose=1, max_train=None, output_dir=None, word_vectors=None, buckets=DEFAULT_BUCKETS, **defaults)
    return parser


def parse_args(argv, prog, description, defaults=None):
    return make_parser(prog, description, defaults).parse_args(argv)


MODEL_FLAGS = ("depth", "units", "bidirectional", "encoding", "embedding_dim", "window", "dropout", "head")


def model_options(args):
    """The `build_model` keyword arguments that the flags choose."""
    return {key: getattr(args, key) for key in MODEL_FLAGS}


# ---------------------------------------------------------------------------
# Data
# ---------------------------------------------------------------------------


def load_data(args):
    dataset = data.load_dataset(args.data, seed=args.seed)
    if args.max_train:
        dataset.train = dataset.train.head(args.max_train)
    return dataset


def fit_encoder(train_split):
    return data.Encoder.fit(train_split.words, train_split.tags)


def input_features(encoding):
    """Which batch inputs an encoding reads."""
    return {
        "onehot": ("words",),
        "embedding": ("words",),
        "trigram": ("trigrams",),
        "embedding+trigram": ("words", "trigrams"),
    }[encoding]


# ---------------------------------------------------------------------------
# Model parts shared by every recipe
# ---------------------------------------------------------------------------


def encode_inputs(encoder, encoding="embedding+trigram", embedding_dim=100, window=0, dropout=0.0):
    """Model inputs and the per-word feature sequence they become.

    Returns `(inputs, features)`: `inputs` is a dict of `keras.Input`
    (`"words"`: word ids (batch, time); `"trigrams"`: letter-trigram ids
    (batch, time, max_trigrams)) and `features` a masked (batch, time, dim) tensor.
    Id 0 is padding in both, so every layer downstream skips padded steps.
    """
    if encoding not in ENCODINGS:
        raise ValueError(f"Received an invalid value for argument encoding, expected one of {ENCODINGS}, got {encoding!r}.")
    inputs = {}
    parts = []
    if "words" in input_features(encoding):
        inputs["words"] = keras.Input(shape=(None,), dtype="int32", name="words")
        if encoding == "onehot":
            parts.append(OneHot(encoder.word_vocabulary_size, name="one_hot")(inputs["words"]))
        else:
            embed = keras.layers.Embedding(
                encoder.word_vocabulary_size, embedding_dim, mask_zero=True, name="word_vectors"
            )
            parts.append(embed(inputs["words"]))
    if "trigrams" in input_features(encoding):
        inputs["trigrams"] = keras.Input(shape=(None, encoder.max_trigrams), dtype="int32", name="trigrams")
        trigram_vectors = TrigramEmbedding(encoder.trigram_vocabulary_size, embedding_dim, name="trigram_vectors")
        parts.append(trigram_vectors(inputs["trigrams"]))
    features = parts[0] if len(parts) == 1 else keras.layers.Concatenate(name="word_features")(parts)
    if window:
        features = ContextWindow(window, name="context_window")(features)
    if dropout:
        features = keras.layers.Dropout(dropout, name="feature_dropout")(features)
    return inputs, features


def tag_head(features, tags, head="softmax"):
    """Scores of every tag at every word: logits (softmax head) or CRF emissions.

    `tags` are the tag names in id order (`encoder.tags`); the CRF head uses
    them to forbid transitions that BIO never makes (`O` -> `I-x`, `B-x` -> `I-y`).
    """
    if head == "softmax":
        return keras.layers.Dense(len(tags), name="tag_logits")(features)
    if head == "crf":
        allowed, allowed_start = bio_transition_mask(list(tags))
        crf = CRF(len(tags), allowed_transitions=allowed, allowed_start_transitions=allowed_start, name="crf")
        return crf(features)
    raise ValueError(f"Received an invalid value for argument head, expected one of {HEADS}, got {head!r}.")


def set_word_vectors(model, vectors):
    """Starts the model's learned word vectors (the `word_vectors` layer) from
    `vectors` (one row per word id); rows of zeros keep the random start."""
    try:
        layer = model.get_layer("word_vectors")
    except ValueError:
        raise UsageError("--word-vectors needs --encoding embedding or embedding+trigram") from None
    current = keras.ops.convert_to_numpy(layer.embeddings)
    if current.shape != vectors.shape:
        raise UsageError(
            f"--word-vectors: the file's vectors have {vectors.shape[1]} numbers; pass --embedding-dim {vectors.shape[1]}"
        )
    known = np.any(vectors != 0, axis=1)
    current[known] = vectors[known]
    layer.embeddings.assign(current)


def crf_layer(model):
    """The model's CRF head, or None for a softmax head."""
    for layer in model.layers:
        if isinstance(layer, CRF):
            return layer
    return None


def compile_model(model, learning_rate=0.005):
    """Adam with gradient clipping and the loss that fits the model's head.

    Padded steps carry the tag -1: the softmax loss ignores that class and
    averages over real words only; the CRF loss masks the same steps.
    """
    crf = crf_layer(model)
    if crf is not None:
        loss = crf.loss
    else:
        loss = keras.losses.SparseCategoricalCrossentropy(
            from_logits=True, ignore_class=PAD_TAG, reduction="mean_with_sample_weight"
        )
    model.compile(optimizer=keras.optimizers.Adam(learning_rate, clipnorm=5.0), loss=loss)
    return model


# ---------------------------------------------------------------------------
# Tagging
# ---------------------------------------------------------------------------


class _CRFDecoder(keras.Model):
    """Inference only: the tagger's emissions decoded by its CRF (Viterbi), so
    that Keras compiles the whole of it like any `predict_on_batch`."""

    def __init__(self, tagger, crf):
        super().__init__(name="crf_decoder")
        self.tagger, self.crf = tagger, crf

    def call(self, inputs):
        features, weights = inputs
        return self.crf.decode(self.tagger(features), keras.ops.greater(weights, 0))


_decoders = weakref.WeakKeyDictionary()


def predict_tag_ids(model, batches):
    """Best tag ids per sentence for a list of `Batch`, keyed by sentence index."""
    crf = crf_layer(model)
    if crf is not None and model not in _decoders:
        _decoders[model] = _CRFDecoder(model, crf)
    results = {}
    for batch in batches:
        lengths = batch.weights.sum(axis=1).astype(int)
        if crf is None:
            best = np.argmax(model.predict_on_batch(batch.inputs), axis=-1)
        else:
            best = np.asarray(_decoders[model].predict_on_batch((batch.inputs, batch.weights)))
        for row, index in enumerate(batch.indices):
            results[int(index)] = best[row, : lengths[row]]
    return results


def predict_split(model, encoder, split, batch_size=64, buckets=DEFAULT_BUCKETS):
    """Predicted tag strings for every sentence of a `data.Split`, in order."""
    features = model_input_features(model)
    batches = make_batches(
        encode_split(encoder, split, with_tags=False), batch_size, features=features, buckets=buckets, fill="power_of_two"
    )
    ids = predict_tag_ids(model, batches)
    return [encoder.decode_tags(ids[index]) for index in range(len(split))]


def model_input_features(model):
    names = set(model.input.keys()) if isinstance(model.input, dict) else {t.name for t in model.inputs}
    return tuple(name for name in ("words", "trigrams") if name in names)


def split_words(sentence, encoder):
    """The words of a raw sentence: split on white space, and punctuation glued
    to a word split off when the word is unknown to `encoder` but known without it.

    "flights to boston?" -> ["flights", "to", "boston", "?"] when "boston" is in
    the vocabulary and "boston?" is not; "(boston)," -> ["(", "boston", "),"].
    Known words keep their punctuation ("u.s.", "o'clock"), and so do words that
    stay unknown either way, so the words always put back the sentence.
    """
    words = []
    for token in sentence.split():
        core_start, core_end = 0, len(token)
        while core_start < core_end and unicodedata.category(token[core_start]).startswith("P"):
            core_start += 1
        while core_end > core_start and unicodedata.category(token[core_end - 1]).startswith("P"):
            core_end -= 1
        core = token[core_start:core_end]
        if (core and core != token and encoder.encode_words([token])[0] == encoder.OTHER
                and encoder.encode_words([core])[0] != encoder.OTHER):
            words.extend(part for part in (token[:core_start], core, token[core_end:]) if part)
        else:
            words.append(token)
    return words


def tag_sentences(model, encoder, sentences, batch_size=64):
    """Tags raw sentences: one dict per sentence with `words` (see `split_words`), `tags` and `slots`."""
    words = [split_words(sentence, encoder) for sentence in sentences]
    results = [None] * len(words)
    nonempty = [i for i, w in enumerate(words) if w]
    split = data.Split([words[i] for i in nonempty], [["O"] * len(words[i]) for i in nonempty])
    tags = predict_split(model, encoder, split, batch_size) if nonempty else []
    for position, index in enumerate(nonempty):
        results[index] = tags[position]
    return [
        {"words": w, "tags": t or [], "slots": scoring.slot_values(w, t or [])}
        for w, t in zip(words, results)
    ]


# ---------------------------------------------------------------------------
# Training
# ---------------------------------------------------------------------------


class _Batches(keras.utils.PyDataset):
    """Length-bucketed training batches, reshuffled every epoch from the seed."""

    def __init__(self, encoded, batch_size, features, seed, epoch=0, with_weights=True, buckets=DEFAULT_BUCKETS):
        super().__init__()
        self.encoded, self.batch_size, self.features, self.buckets = encoded, batch_size, features, buckets
        self.seed, self.epoch, self.with_weights = seed, epoch, with_weights
        self._shuffle()

    def _shuffle(self):
        self.batches = make_batches(
            self.encoded, self.batch_size, features=self.features, buckets=self.buckets,
            shuffle=True, seed=self.seed * 100_003 + self.epoch,
        )

    def __len__(self):
        return len(self.batches)

    def __getitem__(self, index):
        batch = self.batches[index]
        if self.with_weights:
            return batch.inputs, batch.tags, batch.weights
        return batch.inputs, batch.tags

    def on_epoch_end(self):
        self.epoch += 1
        self._shuffle()


def _fit_input(batches):
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
    )

    def generate():
        for index in range(len(batches)):
            yield batches[index]
        batches.on_epoch_end()

    dataset = tf.data.Dataset.from_generator(generate, output_signature=signature)
    return dataset.apply(tf.data.experimental.assert_cardinality(len(batches)))


class SlotF1Monitor(keras.callbacks.Callback):
    """Dev slot F1 after every epoch (`logs["val_slot_f1"]`), early stopping
    on it, the best weights kept, a stop on a NaN loss, and a checkpoint that
    `--resume` continues from.

    It must come first in the callback list: the callbacks after it (CSV and
    TensorBoard logs, keras-tuner) read the F1 it adds to `logs`.
    """

    def __init__(self, encoder, dev_split, dev_batches, patience, checkpoint_dir=None, state=None):
        super().__init__()
        self.encoder, self.dev_split, self.dev_batches = encoder, dev_split, dev_batches
        self.patience, self.checkpoint_dir = patience, checkpoint_dir
        state = state or {}
        self.best_f1 = state.get("best_f1", -1.0)
        self.best_epoch = state.get("best_epoch", 0)
        self.wait = state.get("wait", 0)
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
        ids = predict_tag_ids(self.model, self.dev_batches)
        predicted = [self.encoder.decode_tags(ids[i]) for i in range(len(self.dev_split))]
        f1 = scoring.score(self.dev_split.tags, predicted)["f1"]
        logs["val_slot_f1"] = f1
        if f1 > self.best_f1:
            self.best_f1, self.best_epoch, self.wait = f1, epoch + 1, 0
            self.best_weights = self.model.get_weights()
            if f1 >= 1.0:  # a perfect dev score cannot improve: stop here
                self.model.stop_training = True
        else:
            self.wait += 1
            if self.wait >= self.patience:
                self.model.stop_training = True

    def _checkpoint(self, epochs_done):
        # The files are written under names of this epoch first; state.json,
        # written last, commits them together (see `commit_checkpoint`), so a
        # run killed while saving resumes from one consistent epoch.
        folder = Path(self.checkpoint_dir)
        folder.mkdir(parents=True, exist_ok=True)
        if self.best_epoch == epochs_done:
            atomic_save_weights(self.model, folder / _staged_name("best.weights.h5", epochs_done))
        atomic_save_weights(self.model, folder / _staged_name("last.weights.h5", epochs_done))
        save_optimizer_state(self.model.optimizer, folder / _staged_name("optimizer.npz", epochs_done))
        state = {
            "epochs_done": epochs_done,
            "best_f1": self.best_f1,
            "best_epoch": self.best_epoch,
            "wait": self.wait,
            "stopped": bool(self.model.stop_training),
            "train_seconds": self.train_seconds_before + time.perf_counter() - self.started,
            "seed_states": [keras.ops.convert_to_numpy(v).tolist() for v in seed_state_variables(self.model)],
        }
        atomic_write_text(folder / "state.json", json.dumps(state, indent=2))
        commit_checkpoint(folder, epochs_done)

    def restore_best(self):
        if self.best_weights is not None:
            self.model.set_weights(self.best_weights)
        elif self.checkpoint_dir and (Path(self.checkpoint_dir) / "best.weights.h5").is_file():
            self.model.load_weights(Path(self.checkpoint_dir) / "best.weights.h5")


class _CheckpointAfterLogs(keras.callbacks.Callback):
    """Writes the monitor's checkpoint once the callbacks before this one
    (history.csv) have logged the epoch: history.csv then holds every epoch
    the checkpoint counts, and `resume_model` drops the rows of any later one."""

    def __init__(self, monitor):
        super().__init__()
        self.monitor = monitor

    def on_epoch_end(self, epoch, logs=None):
        if not self.monitor.diverged:
            self.monitor._checkpoint(epoch + 1)


class TrainingDiverged(RuntimeError):
    pass


CHECKPOINT_FILES = ("best.weights.h5", "last.weights.h5", "optimizer.npz")


def _staged_name(name, epochs_done):
    return f"epoch-{epochs_done}.{name}"


def commit_checkpoint(folder, epochs_done):
    """Moves the files staged for epoch `epochs_done` (the one state.json
    records) into place, and deletes what a run killed while saving left:
    files staged for an epoch state.json never recorded, half-written files."""
    folder = Path(folder)
    for name in CHECKPOINT_FILES:
        staged = folder / _staged_name(name, epochs_done)
        if staged.is_file():
            os.replace(staged, folder / name)
    for leftover in [*folder.glob("epoch-*"), *folder.glob(".partial.*"), *folder.glob(".*.partial")]:
        leftover.unlink()


def seed_state_variables(model):
    """The states of the model's random seed generators (dropout masks): not
    among its weights, but needed for a resumed run to draw the same masks."""
    weights = {id(variable) for variable in model.weights}
    return [v for v in model.variables if id(v) not in weights and v.name == "seed_generator_state"]


def train(model, encoder, dataset, args, run_dir=None, extra_callbacks=(), initial_epoch=0, state=None):
    """Fits `model` on `dataset.train`, scores dev after every epoch, stops
    early on dev slot F1 and leaves the best epoch's weights in the model.

    Returns the `SlotF1Monitor` (best F1 and epoch in `best_f1`, `best_epoch`).
    """
    features = model_input_features(model)
    with_weights = crf_layer(model) is None
    buckets = getattr(args, "buckets", DEFAULT_BUCKETS)
    batches = _Batches(
        encode_split(encoder, dataset.train), args.batch_size, features, args.seed, initial_epoch, with_weights, buckets
    )
    dev_batches = make_batches(
        encode_split(encoder, dataset.dev, with_tags=False), 64, features=features, buckets=buckets
    )
    checkpoint_dir = Path(run_dir) / "checkpoint" if run_dir else None
    monitor = SlotF1Monitor(encoder, dataset.dev, dev_batches, args.patience, checkpoint_dir, state)
    callbacks = [monitor]
    if run_dir:
        callbacks.append(keras.callbacks.CSVLogger(str(Path(run_dir) / "history.csv"), append=initial_epoch > 0))
        tensorboard = _tensorboard(Path(run_dir) / "logs")
        if tensorboard:
            callbacks.append(tensorboard)
    if checkpoint_dir:
        callbacks.append(_CheckpointAfterLogs(monitor))
    callbacks.extend(extra_callbacks)
    if state and state.get("stopped"):
        monitor.restore_best()
        return monitor
    model.fit(
        _fit_input(batches),
        epochs=args.epochs,
        initial_epoch=initial_epoch,
        shuffle=False,  # `_Batches` shuffles from the seed and the epoch, so a resumed run sees the same order
        callbacks=callbacks,
        verbose=args.verbose,
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


def _tensorboard(log_dir):
    try:
        import tensorboard  # noqa: F401
        import tensorflow  # noqa: F401
    except ImportError:
        return None
    return keras.callbacks.TensorBoard(log_dir=str(log_dir), write_graph=False, profile_batch=0)


# ---------------------------------------------------------------------------
# Run folders
# ---------------------------------------------------------------------------


def atomic_write_text(path, text):
    """Writes a file so that a reader never sees it half-written."""
    path = Path(path)
    temporary = path.with_name(f".{path.name}.partial")
    try:
        temporary.write_text(text, encoding="utf-8")
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def atomic_save_model(model, path):
    path = Path(path)
    temporary = path.with_name(f".partial.{path.name}")
    try:
        model.save(temporary)
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def inference_view(model):
    """The same layers as an uncompiled model: `model.keras` then holds no
    optimizer state and no training loss (a CRF's loss is a bound method that
    Keras cannot rebuild), so `keras.saving.load_model` works with its defaults."""
    return keras.Model(model.input, model.output, name=model.name)


def atomic_save_weights(model, path):
    path = Path(path)
    temporary = path.with_name(f".partial.{path.name}")
    try:
        model.save_weights(temporary)
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def new_run_dir(recipe_name, output_dir=None, resume=False):
    """The run folder: `--output-dir`, or a new `runs/<recipe>-<time>` folder."""
    if output_dir is None:
        if resume:
            raise UsageError("--resume needs --output-dir naming the run to continue")
        stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
        output_dir = Path("runs") / f"{recipe_name}-{stamp}"
        suffix = 1
        while output_dir.exists():
            suffix += 1
            output_dir = Path("runs") / f"{recipe_name}-{stamp}-{suffix}"
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
    right.plot(epochs, [float(row["val_slot_f1"]) for row in rows], marker="o", color="tab:green")
    right.set(xlabel="epoch", ylabel="dev slot F1", title="Dev slot F1")
    figure.tight_layout()
    temporary = Path(path).with_name(f".partial.{Path(path).name}")
    figure.savefig(temporary, format="png", dpi=100)
    plt.close(figure)
    os.replace(temporary, path)


def summary(result):
    return {key: result[key] for key in ("precision", "recall", "f1", "token_accuracy", "sentence_accuracy")}


def print_scores(name, result, worst=5):
    print(
        f"{name}: slot precision {result['precision']:.4f}  recall {result['recall']:.4f}  "
        f"F1 {result['f1']:.4f}  (token accuracy {result['token_accuracy']:.4f}, "
        f"sentence accuracy {result['sentence_accuracy']:.4f})"
    )
    table = result["per_slot"]
    table = table[table["support"] > 0].sort_values(["f1", "support"], ascending=[True, False])
    if worst and len(table):
        print(f"Worst {min(worst, len(table))} slots on {name}:")
        print(table.head(worst).to_string(index=False, float_format=lambda v: f"{v:.3f}"))


def print_tagged(tagged):
    for result in tagged:
        width = max([len(w) for w in result["words"]] + [4])
        for word, tag in zip(result["words"], result["tags"]):
            print(f"  {word:<{width}}  {tag}")
        print(f"  slots: {json.dumps(result['slots'])}")
        print()


# ---------------------------------------------------------------------------
# The whole recipe
# ---------------------------------------------------------------------------


def describe(docstring):
    """The `Description:` line of a recipe's tutobook header."""
    for line in (docstring or "").splitlines():
        if line.startswith("Description:"):
            return line.split(":", 1)[1].strip()
    return None


def run_recipe(build_model, argv, name, docstring, defaults=None, sentences=LECTURE_SENTENCES):
    """Parses flags, trains, scores, writes the run folder and tags `sentences`.

    Returns the metrics dict written to `metrics.json`. Bad flags and bad data
    print one line and exit with code 2.
    """
    args = parse_args(argv, f"python -m recipes.{name}", describe(docstring), defaults)
    try:
        return _run(build_model, args, name, sentences)
    except (UsageError, data.DatasetError) as error:
        print(f"python -m recipes.{name}: error: {error}", file=sys.stderr)
        raise SystemExit(2)
    except TrainingDiverged as error:
        print(f"python -m recipes.{name}: error: {error}", file=sys.stderr)
        raise SystemExit(1)
    except KeyboardInterrupt:
        run_dir = Path(args.output_dir) if args.output_dir else None
        if run_dir and (run_dir / "checkpoint" / "state.json").is_file():
            hint = f"continue with the same command and --resume --output-dir {run_dir}"
        else:
            hint = "no epoch had finished, so there is nothing to resume"
        print(f"\npython -m recipes.{name}: interrupted; {hint}", file=sys.stderr)
        raise SystemExit(130)


def train_run_folder(build_model, args, name, sentences=LECTURE_SENTENCES):
    """Trains one configuration and writes its run folder, as a recipe does.

    `args` holds every shared flag (start from `make_parser(...).parse_args([])`
    and set what differs). Returns the metrics dict written to `metrics.json`;
    raises `UsageError`, `data.DatasetError` or `TrainingDiverged`.
    """
    return _run(build_model, args, name, sentences)


def _run(build_model, args, name, sentences):
    # What bad input can break (the data, word vectors, the model flags) is
    # read and built before the run folder is made: a failure writes nothing.
    dataset = load_data(args)
    keras.utils.set_random_seed(args.seed)
    if not args.resume:
        encoder = fit_encoder(dataset.train)
        vectors = None
        if args.word_vectors:
            vectors, found = data.read_word_vectors(args.word_vectors, encoder)
            print(f"{args.word_vectors}: vectors for {found} of {encoder.word_vocabulary_size - 2} words")
        model = build_model(encoder, **model_options(args))
        if vectors is not None:
            set_word_vectors(model, vectors)
    run_dir = new_run_dir(name, args.output_dir, args.resume)
    args.output_dir = str(run_dir)
    initial_epoch, state = 0, None
    if args.resume:
        model, encoder, state = resume_model(build_model, args, run_dir)
        initial_epoch = state["epochs_done"]
    else:
        encoder.save(run_dir / "encoder.json")
        atomic_write_text(run_dir / "config.json", json.dumps({"recipe": name, **vars(args)}, indent=2))
        compile_model(model, args.learning_rate)
    print(
        f"{name}: {len(dataset.train)} train / {len(dataset.dev)} dev / {len(dataset.test)} test sentences "
        f"from {dataset.name}, {encoder.num_tags} tags, {model.count_params():,} parameters, "
        f"backend {keras.backend.backend()}; run folder {run_dir}"
    )
    started = time.perf_counter()
    monitor = train(model, encoder, dataset, args, run_dir, initial_epoch=initial_epoch, state=state)
    train_seconds = time.perf_counter() - started + monitor.train_seconds_before

    dev = scoring.score(dataset.dev.tags, predict_split(model, encoder, dataset.dev, buckets=args.buckets))
    test_predictions = predict_split(model, encoder, dataset.test, buckets=args.buckets)
    test = scoring.score(dataset.test.tags, test_predictions)
    metrics = {
        "recipe": name,
        "data": dataset.name,
        "backend": keras.backend.backend(),
        "device": compute_device(),
        "dev": summary(dev),
        "test": summary(test),
        "epochs": int(_history_rows(run_dir / "history.csv")),
        "best_epoch": int(monitor.best_epoch),
        "train_seconds": round(train_seconds, 2),
        "parameters": int(model.count_params()),
    }
    atomic_save_model(inference_view(model), run_dir / "model.keras")
    write_predictions(run_dir / "test_predictions.txt", dataset.test, test_predictions)
    test["per_slot"].to_csv(run_dir / "per_slot.csv", index=False)
    plot_curves(run_dir / "history.csv", run_dir / "curves.png")
    atomic_write_text(run_dir / "metrics.json", json.dumps(metrics, indent=2))

    print()
    print_scores("dev", dev, worst=0)
    print_scores("test", test)
    print(f"trained {metrics['epochs']} epochs in {train_seconds:.1f} s (best dev epoch {monitor.best_epoch}); "
          f"run folder: {run_dir}")
    if sentences:
        print()
        print_tagged(tag_sentences(model, encoder, sentences))
    return metrics


def compute_device():
    """Where the model trained: "gpu" when the backend sees an accelerator, else "cpu"."""
    try:
        devices = keras.distribution.list_devices()
    except Exception:  # a backend without the distribution API
        return "cpu"
    kinds = {str(device).split(":")[0].lower() for device in devices}
    return "gpu" if kinds & {"gpu", "cuda", "tpu"} else "cpu"


def _first_line(error):
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def read_json_object(path):
    """A JSON object from a run folder's file, or `UsageError` naming the file (and line)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UsageError(f"{path}: missing") from None
    except (OSError, UnicodeDecodeError) as error:
        raise UsageError(f"{path}: cannot read ({getattr(error, 'strerror', None) or _first_line(error)})") from None
    try:
        value = json.loads(text)
    except json.JSONDecodeError as error:
        raise UsageError(f"{path} line {error.lineno}: not valid JSON ({error.msg})") from None
    if not isinstance(value, dict):
        raise UsageError(f"{path}: expected a JSON object, got {type(value).__name__}")
    return value


CHECKPOINT_STATE = {"epochs_done": int, "best_f1": (int, float), "best_epoch": int, "wait": int,
                    "stopped": bool, "train_seconds": (int, float)}


def resume_model(build_model, args, run_dir):
    """The model, encoder and checkpoint state of the unfinished run in
    `run_dir`, as its last finished epoch left them. Reads the model flags of
    `config.json` into `args`; a missing or damaged file raises `UsageError`
    naming it."""
    checkpoint = Path(run_dir) / "checkpoint"
    state_path, config_path = checkpoint / "state.json", Path(run_dir) / "config.json"
    state = read_json_object(state_path)
    for key, kind in CHECKPOINT_STATE.items():
        value = state.get(key)
        if not isinstance(value, kind) or (kind is not bool and isinstance(value, bool)):
            raise UsageError(f"{state_path}: {key!r} is missing or of the wrong type ({value!r})")
    if state["epochs_done"] < 1:
        raise UsageError(f"{state_path}: 'epochs_done' must be at least 1, got {state['epochs_done']}")
    saved = read_json_object(config_path)
    for key in MODEL_FLAGS:
        if key not in saved:
            raise UsageError(f"{config_path}: {key!r} is missing")
        setattr(args, key, saved[key])
    commit_checkpoint(checkpoint, state["epochs_done"])
    history = Path(run_dir) / "history.csv"
    if history.is_file():  # rows of an epoch logged but never checkpointed go: that epoch runs again
        lines = history.read_text(encoding="utf-8").splitlines(keepends=True)
        if len(lines) > state["epochs_done"] + 1:
            atomic_write_text(history, "".join(lines[: state["epochs_done"] + 1]))
    encoder = data.Encoder.load(Path(run_dir) / "encoder.json")
    try:
        model = build_model(encoder, **model_options(args))
        compile_model(model, args.learning_rate)
        model.optimizer.build(model.trainable_variables)
    except Exception as error:
        raise UsageError(f"{config_path}: its model flags do not build a model ({_first_line(error)})") from None
    for path, restore in ((checkpoint / "last.weights.h5", model.load_weights),
                          (checkpoint / "optimizer.npz", lambda path: load_optimizer_state(model, path))):
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
                raise UsageError(f"{path}: does not fit the model that config.json and encoder.json describe "
                                 f"({_first_line(error)})") from None
            raise UsageError(f"{path}: cannot be loaded ({_first_line(error)})") from None
        except Exception as error:
            raise UsageError(f"{path}: cannot be loaded ({_first_line(error)})") from None
        for warning in caught:
            warnings.warn_explicit(warning.message, warning.category, warning.filename, warning.lineno)
    if "seed_states" not in state:  # a checkpoint written before seed states were saved
        return model, encoder, state
    variables = seed_state_variables(model)
    try:
        if not isinstance(state["seed_states"], list):
            raise TypeError("expected a list")
        values = [np.asarray(value, dtype="uint32") for value in state["seed_states"]]
        if len(values) != len(variables) or any(v.shape != tuple(w.shape) for v, w in zip(values, variables)):
            raise ValueError(f"{len(values)} seed states for {len(variables)} seed generators")
    except (TypeError, ValueError, OverflowError) as error:
        raise UsageError(f"{state_path}: 'seed_states' does not fit the model ({_first_line(error)})") from None
    for variable, value in zip(variables, values):
        variable.assign(value)
    return model, encoder, state


def _history_rows(path):
    with contextlib.suppress(OSError):
        with open(path, encoding="utf-8") as handle:
            return max(sum(1 for _ in handle) - 1, 0)
    return 0


def save_optimizer_state(optimizer, path):
    """Saves the optimizer's variables (step count, Adam moments) as a NumPy archive."""
    path = Path(path)
    temporary = path.with_name(f".partial.{path.name}")
    try:
        with open(temporary, "wb") as handle:
            np.savez(handle, *[keras.ops.convert_to_numpy(v) for v in optimizer.variables])
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def load_optimizer_state(model, path):
    """Restores what `save_optimizer_state` saved into a compiled `model`."""
    model.optimizer.build(model.trainable_variables)
    with np.load(path, allow_pickle=False) as saved:
        values = [saved[f"arr_{i}"] for i in range(len(saved.files))]
    if len(values) != len(model.optimizer.variables):
        raise UsageError(f"{path}: holds {len(values)} optimizer variables, the model needs {len(model.optimizer.variables)}")
    for variable, value in zip(model.optimizer.variables, values):
        variable.assign(value)
