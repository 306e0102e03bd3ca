"""The two taggers `benchmarks.train_speed` compares, and the instruments it measures them with.

(a) The padded baseline, written the way a first tagger usually is: `build_baseline`
(`Embedding(mask_zero=True) -> Bidirectional(cell) -> Dense(softmax)`), its cell a copy
of the recipe's (`baseline_layer`), fed every sentence padded to the longest
(`baseline_arrays`). (b) The recipe's own `build_model` at the same size
(`build_pipeline`), compiled at the recipe's learning rate (`recipe_learning_rate`).

What measures either: `EpochTimer` (wall-clock and CPU seconds of every epoch),
`test_f1` (the test split tagged through `predict_sentences` and scored),
`training_flops_per_word` (a training step's arithmetic, from the layer shapes)
and `matmul_rate` (the machine's). How the two train in turn, and the table, are
`benchmarks.train_speed`'s.
"""

import importlib
import time
import warnings

import keras
import numpy as np

import custom_layers  # noqa: F401  (registers the custom layers, which the baseline clones)
from custom_layers.projected_rnn import KERAS_LAYERS
from recipes.config import settings
from recipes.inference.engines import KerasEngine
from recipes.inference.tagger import predict_sentences
from recipes.model import parts as model_parts
from recipes.model import scoring

UNITS = 128  # units per direction
EMBEDDING_DIM = 100  # word vector size
BASELINE_LEARNING_RATE = 0.001  # what `optimizer="adam"` gives a first tagger


def baseline_layer(pipeline):
    """The recurrent layer (a) wraps in `Bidirectional`: a fresh copy, same class
    and settings, of the one the recipe's `build_model` put in (b), so that both
    sides run the same cell (for Jordan, the recipe's output width and activation).
    Where the recipe uses `custom_layers.LSTM`, `GRU` or `SimpleRNN`, the baseline
    gets Keras's own layer of that name, as a plain Keras tagger would."""
    for layer in pipeline.layers:
        if isinstance(layer, keras.layers.Bidirectional):
            config = layer.forward_layer.get_config()
            config.pop("name", None)
            kind = type(layer.forward_layer)
            return KERAS_LAYERS.get(kind, kind).from_config(config)
    raise ValueError(f"{pipeline.name} has no Bidirectional layer")


def build_baseline(recurrent_layer, vocabulary_size, num_tags, learning_rate, embedding_dim=EMBEDDING_DIM):
    """Embedding(mask_zero=True) -> Bidirectional(recurrent_layer) -> Dense(softmax), compiled."""
    words = keras.Input(shape=(None,), dtype="int32", name="words")
    x = keras.layers.Embedding(vocabulary_size, embedding_dim, mask_zero=True)(words)
    x = keras.layers.Bidirectional(recurrent_layer)(x)
    tags = keras.layers.Dense(num_tags, activation="softmax")(x)
    model = keras.Model(words, tags, name="baseline")
    model.compile(optimizer=keras.optimizers.Adam(learning_rate), loss="sparse_categorical_crossentropy")
    return model


def baseline_arrays(encoder, split):
    """Every sentence padded to the longest: word ids, tag ids, and 0/1 weights."""
    x = keras.utils.pad_sequences([encoder.encode_words(words) for words in split.words], padding="post")
    y = keras.utils.pad_sequences([encoder.encode_tags(tags, unknown="O") for tags in split.tags], padding="post")
    weights = (x != 0).astype("float32")
    return x, y, weights


def recipe_learning_rate(cell):
    """The recipe's own default learning rate (its `learning_rate` constant, else the shared default)."""
    recipe = importlib.import_module(f"recipes.{cell}")
    return getattr(recipe, "learning_rate", settings.SHARED.learning_rate)


def build_pipeline(cell, encoder, learning_rate, units=UNITS, embedding_dim=EMBEDDING_DIM):
    """The recipe's `build_model` with depth 1, word vectors only, window 0, a
    softmax head and no intent head (the baseline's input and output; the Elman
    and Jordan recipes default to a CRF head), compiled as the recipes compile
    theirs (`model_parts.compile_model`)."""
    recipe = importlib.import_module(f"recipes.{cell}")
    model = recipe.build_model(
        encoder,
        depth=1,
        units=units,
        bidirectional=True,
        encoding="embedding",
        embedding_dim=embedding_dim,
        window=0,
        head="softmax",
        intent=False,
    )
    return model_parts.compile_model(model, learning_rate)


def training_flops_per_word(model):
    """Floating-point operations one real word costs a training step, from the layer shapes.

    Every element of a 2-D weight of the recurrent layers and the dense head is one
    multiply-add (2 operations) per word in the forward pass (the input and recurrent
    kernels of both directions, Jordan's output layer, a full peephole matrix), and
    the backward pass costs twice the forward one (the gradients of the inputs and of
    the weights), so 6 per element. Embeddings are lookups and count nothing;
    biases, gates' elementwise products and the softmax are left out (a few percent).
    """
    elements = 0
    for layer in model.layers:
        if isinstance(layer, (keras.layers.Bidirectional, keras.layers.RNN, keras.layers.Dense)):
            elements += sum(int(np.prod(weight.shape)) for weight in layer.weights if len(weight.shape) == 2)
    return 6 * elements


def matmul_rate(rows, inner, columns, repeats):
    """GFLOP/s of `keras.ops.matmul` on float32 (rows x inner) by (inner x columns):
    the best of 5 timings of `repeats` calls each, after an untimed one."""
    rng = np.random.default_rng(0)
    left = keras.ops.convert_to_tensor(rng.standard_normal((rows, inner), dtype=np.float32))
    right = keras.ops.convert_to_tensor(rng.standard_normal((inner, columns), dtype=np.float32))
    keras.ops.convert_to_numpy(keras.ops.matmul(left, right))
    best = float("inf")
    for _ in range(5):
        start = time.perf_counter()
        products = [keras.ops.matmul(left, right) for _ in range(repeats)]
        keras.ops.convert_to_numpy(products[-1])  # waits for the asynchronous dispatch to finish
        best = min(best, time.perf_counter() - start)
    return 2 * rows * inner * columns * repeats / best / 1e9


class EpochTimer(keras.callbacks.Callback):
    """Seconds of every epoch, from its first batch to the end of its last."""

    def __init__(self):
        super().__init__()
        self.seconds = []  # wall-clock seconds
        self.cpu_seconds = []  # CPU seconds of this process, all threads: less swayed by other people's jobs
        self._start = None

    def on_epoch_begin(self, epoch, logs=None):
        self._start = (time.perf_counter(), time.process_time())

    def on_epoch_end(self, epoch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is not None:
            float(loss)  # waits for the last step on backends that dispatch asynchronously
        self.seconds.append(time.perf_counter() - self._start[0])
        self.cpu_seconds.append(time.process_time() - self._start[1])


def test_f1(model, encoder, test_split):
    with warnings.catch_warnings():
        # The baseline takes a bare array; predict hands it {"words": ...}, which Keras maps by name.
        warnings.filterwarnings("ignore", message="The structure of `inputs` doesn't match", category=UserWarning)
        predicted = predict_sentences(KerasEngine(model), encoder, test_split.words).tags
    return scoring.score(test_split.tags, predicted)["f1"]
