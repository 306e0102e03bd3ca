"""custom_layers.LSTM, GRU, SimpleRNN and Bidirectional against Keras's own layers of those names.

The projected layers must be drop-ins: the same weights, config, outputs and
gradients as Keras's layer (to 1e-5), on padded batches, in one direction or
two, and a model of them must save and load with `safe_mode=True`.
"""

import keras
import numpy as np
import pytest
from keras import layers, ops

import custom_layers
import custom_layers.projected_rnn

CELLS = [
    ("LSTM", {}),
    ("GRU", {}),
    ("GRU", {"reset_after": False}),
    ("SimpleRNN", {}),
]
CELL_IDS = ["lstm", "gru", "gru-reset-before", "simple-rnn"]
BATCH, STEPS, FEATURES, UNITS = 5, 9, 7, 6
LENGTHS = np.array([9, 4, 1, 7, 0])  # a full row, padded rows, and a row of padding only


def padded_batch(seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(BATCH, STEPS, FEATURES)).astype("float32")
    mask = np.arange(STEPS)[None] < LENGTHS[:, None]
    x[~mask] = 0.0
    return x, mask


def pair(cell, options, bidirectional, return_sequences=True):
    """A Keras layer and the projected layer of the same shape, the second holding the first's weights."""
    reference = getattr(layers, cell)(UNITS, return_sequences=return_sequences, **options)
    projected = getattr(custom_layers, cell)(UNITS, return_sequences=return_sequences, **options)
    if bidirectional:
        reference, projected = layers.Bidirectional(reference), custom_layers.Bidirectional(projected)
    return with_same_weights(reference, projected)


def with_same_weights(reference, other):
    """Both layers built on the padded batch, `other` holding `reference`'s weights."""
    x, mask = padded_batch()
    reference(x, mask=mask)
    other(x, mask=mask)
    other.set_weights(reference.get_weights())
    return reference, other


@pytest.mark.parametrize("bidirectional", [False, True], ids=["one-direction", "bidirectional"])
@pytest.mark.parametrize("return_sequences", [True, False], ids=["sequences", "last"])
@pytest.mark.parametrize(("cell", "options"), CELLS, ids=CELL_IDS)
def test_outputs_match_keras_on_a_padded_batch(cell, options, bidirectional, return_sequences):
    reference, projected = pair(cell, options, bidirectional, return_sequences)
    x, mask = padded_batch(seed=1)
    expected = ops.convert_to_numpy(reference(x, mask=mask))
    got = ops.convert_to_numpy(projected(x, mask=mask))
    assert got.shape == expected.shape
    np.testing.assert_allclose(got, expected, atol=1e-5)
    # Without a mask too (every step is a word).
    np.testing.assert_allclose(ops.convert_to_numpy(projected(x)), ops.convert_to_numpy(reference(x)), atol=1e-5)


@pytest.mark.parametrize("cell", ["LSTM", "GRU", "SimpleRNN"])
def test_the_backward_layer_reads_the_sentence_backwards(cell):
    reference = getattr(layers, cell)(UNITS, return_sequences=True, go_backwards=True)
    projected = getattr(custom_layers, cell)(UNITS, return_sequences=True, go_backwards=True)
    reference, projected = with_same_weights(reference, projected)
    x, mask = padded_batch()
    np.testing.assert_allclose(
        ops.convert_to_numpy(projected(x, mask=mask)), ops.convert_to_numpy(reference(x, mask=mask)), atol=1e-5
    )


def tagger(module, cell, options):
    inputs = keras.Input((None, FEATURES))
    hidden = keras.layers.Masking()(inputs)
    hidden = module.Bidirectional(getattr(module, cell)(UNITS, return_sequences=True, **options))(hidden)
    hidden = getattr(module, cell)(UNITS, return_sequences=True, **options)(hidden)  # stacked, one direction
    outputs = keras.layers.Dense(3)(hidden)
    return keras.Model(inputs, outputs)


def one_sgd_step_each(reference, projected):
    """Compiles both models alike, gives `projected` the weights of `reference`, trains each one SGD step on
    the same padded batch (padding weighted 0) and checks that they end at the same weights (equal gradients).
    Returns the weights both started from."""
    x, mask = padded_batch(seed=2)
    targets = np.random.default_rng(3).integers(0, 3, size=(BATCH, STEPS))
    for model in (reference, projected):
        model.compile(
            optimizer=keras.optimizers.SGD(learning_rate=0.5),
            loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        )
    projected.set_weights(reference.get_weights())
    start = reference.get_weights()
    for model in (reference, projected):
        model.train_on_batch(x, targets, sample_weight=mask.astype("float32"))
    for before, after in zip(reference.get_weights(), projected.get_weights(), strict=True):
        np.testing.assert_allclose(after, before, atol=1e-5)
    return start


@pytest.mark.parametrize(("cell", "options"), CELLS, ids=CELL_IDS)
def test_a_training_step_moves_the_weights_as_keras_does(cell, options):
    """Equal gradients: one SGD step from the same weights ends at the same weights (padding weighted 0)."""
    reference = tagger(keras.layers, cell, options)
    one_sgd_step_each(reference, tagger(custom_layers, cell, options))
    assert not np.allclose(reference.get_weights()[0], tagger(keras.layers, cell, options).get_weights()[0])


@pytest.mark.parametrize(("cell", "options"), CELLS, ids=CELL_IDS)
def test_same_config_and_weights_as_keras_both_ways(cell, options):
    reference, projected = pair(cell, options, bidirectional=True)
    config, expected = projected.forward_layer.get_config(), reference.forward_layer.get_config()
    assert {**config, "name": None} == {**expected, "name": None}
    assert [w.path.split("/")[-1] for w in projected.weights] == [w.path.split("/")[-1] for w in reference.weights]
    assert [w.shape for w in projected.weights] == [w.shape for w in reference.weights]
    # And back: the projected layer's weights load into Keras's layer.
    fresh = layers.Bidirectional(getattr(layers, cell)(UNITS, return_sequences=True, **options))
    x, mask = padded_batch()
    fresh(x, mask=mask)
    fresh.set_weights(projected.get_weights())
    np.testing.assert_allclose(
        ops.convert_to_numpy(fresh(x, mask=mask)), ops.convert_to_numpy(projected(x, mask=mask)), atol=1e-5
    )


def test_a_model_of_projected_layers_saves_and_loads_with_safe_mode(tmp_path):
    model = tagger(custom_layers, "LSTM", {})
    x, _ = padded_batch()
    path = tmp_path / "model.keras"
    model.save(path)
    loaded = keras.saving.load_model(path, safe_mode=True)
    assert isinstance(loaded.layers[2], custom_layers.Bidirectional)
    assert isinstance(loaded.layers[2].forward_layer, custom_layers.LSTM)
    np.testing.assert_allclose(ops.convert_to_numpy(loaded(x)), ops.convert_to_numpy(model(x)), atol=1e-6)


def test_padding_changes_no_output_at_the_words():
    layer = custom_layers.Bidirectional(custom_layers.GRU(UNITS, return_sequences=True))
    x, mask = padded_batch()
    short = layer(x, mask=mask)
    longer = layer(np.concatenate([x, np.zeros_like(x)], axis=1), mask=np.concatenate([mask, mask & False], axis=1))
    short, longer = ops.convert_to_numpy(short), ops.convert_to_numpy(longer)
    np.testing.assert_allclose(longer[:, :STEPS][mask], short[mask], atol=1e-6)
    assert np.all(longer[:, STEPS:] == 0.0)  # padding outputs zero, as Bidirectional makes Keras's layers do


def test_dropout_in_the_cell_takes_keras_loop_and_still_trains():
    """The projected loop has no in-cell dropout: with it the layer is Keras's, masks and all."""
    layer = custom_layers.LSTM(UNITS, return_sequences=True, dropout=0.3, recurrent_dropout=0.2)
    assert not layer.can_project(training=True)
    assert layer.can_project(training=False)
    reference = keras.layers.LSTM(UNITS, return_sequences=True, dropout=0.3, recurrent_dropout=0.2)
    reference, layer = with_same_weights(reference, layer)
    x, mask = padded_batch()
    np.testing.assert_allclose(
        ops.convert_to_numpy(layer(x, mask=mask, training=False)),
        ops.convert_to_numpy(reference(x, mask=mask, training=False)),
        atol=1e-5,
    )
    trained = ops.convert_to_numpy(layer(x, mask=mask, training=True))
    assert trained.shape == (BATCH, STEPS, UNITS) and np.all(np.isfinite(trained))


def test_bidirectional_around_another_layer_is_keras_bidirectional():
    reference = layers.Bidirectional(custom_layers.JordanRNN(UNITS, output_units=4, return_sequences=True))
    layer = custom_layers.Bidirectional(custom_layers.JordanRNN(UNITS, output_units=4, return_sequences=True))
    reference, layer = with_same_weights(reference, layer)
    x, mask = padded_batch()
    np.testing.assert_allclose(
        ops.convert_to_numpy(layer(x, mask=mask)), ops.convert_to_numpy(reference(x, mask=mask)), atol=1e-6
    )


def test_with_keras_layers_gives_the_same_model_in_keras_layers():
    model = tagger(custom_layers, "GRU", {})
    copy = custom_layers.projected_rnn.with_keras_layers(model)
    x, _ = padded_batch()
    kinds = {type(layer) for layer in copy.layers} | {type(copy.layers[2].forward_layer)}
    assert keras.layers.GRU in kinds and keras.layers.Bidirectional in kinds
    assert not kinds & {custom_layers.GRU, custom_layers.Bidirectional}
    np.testing.assert_allclose(ops.convert_to_numpy(copy(x)), ops.convert_to_numpy(model(x)), atol=1e-5)


OWN_LAYERS = [
    ("JordanRNN", "JordanRNNCell", {"output_units": 4}),
    ("JordanRNN", "JordanRNNCell", {"output_units": 4, "use_bias": False}),
    ("PeepholeLSTM", "PeepholeLSTMCell", {}),
    ("PeepholeLSTM", "PeepholeLSTMCell", {"peephole": "full"}),
]


@pytest.mark.parametrize("bidirectional", [False, True], ids=["one-direction", "bidirectional"])
@pytest.mark.parametrize(
    ("layer_name", "cell_name", "options"), OWN_LAYERS, ids=["jordan", "jordan-no-bias", "peephole", "peephole-full"]
)
def test_jordan_and_peephole_layers_loop_as_their_cell_does_in_keras_rnn(layer_name, cell_name, options, bidirectional):
    """The projected loop of the two own layers against their cell run step by step by `keras.layers.RNN`."""
    reference = keras.layers.RNN(getattr(custom_layers, cell_name)(UNITS, **options), return_sequences=True)
    projected = getattr(custom_layers, layer_name)(UNITS, return_sequences=True, **options)
    if bidirectional:
        reference, projected = layers.Bidirectional(reference), custom_layers.Bidirectional(projected)
    reference, projected = with_same_weights(reference, projected)
    _, mask = padded_batch()
    x, _ = padded_batch(seed=4)
    np.testing.assert_allclose(
        ops.convert_to_numpy(projected(x, mask=mask)), ops.convert_to_numpy(reference(x, mask=mask)), atol=1e-5
    )
    copy = custom_layers.projected_rnn.with_keras_layers(keras.Sequential([keras.Input((STEPS, FEATURES)), projected]))
    inner = copy.layers[0].forward_layer if bidirectional else copy.layers[0]
    assert inner.projected_loop is False  # Keras's own loop, for converters
    np.testing.assert_allclose(ops.convert_to_numpy(copy(x)), ops.convert_to_numpy(projected(x)), atol=1e-5)


def own_tagger(layer_name, options, projected_loop):
    """`tagger` with one of the own layers; `projected_loop=False` runs its cell in Keras's loop."""
    inputs = keras.Input((None, FEATURES))
    hidden = keras.layers.Masking()(inputs)
    bidirectional = custom_layers.Bidirectional(
        getattr(custom_layers, layer_name)(UNITS, return_sequences=True, **options)
    )
    stacked = getattr(custom_layers, layer_name)(UNITS, return_sequences=True, **options)
    for layer in (bidirectional.forward_layer, bidirectional.backward_layer, stacked):
        layer.projected_loop = projected_loop
    outputs = keras.layers.Dense(3)(stacked(bidirectional(hidden)))
    return keras.Model(inputs, outputs)


@pytest.mark.parametrize(
    ("layer_name", "cell_name", "options"), OWN_LAYERS, ids=["jordan", "jordan-no-bias", "peephole", "peephole-full"]
)
def test_the_own_layers_train_in_the_projected_loop_as_in_keras_loop(layer_name, cell_name, options):
    """Equal gradients for `JordanRNN` and `PeepholeLSTM` too, whose bias and peephole vectors go into
    the projected loop broadcast over the batch: one SGD step ends at the weights of Keras's loop."""
    projected = own_tagger(layer_name, options, projected_loop=True)
    start = one_sgd_step_each(own_tagger(layer_name, options, projected_loop=False), projected)
    # Every weight moved, the bias and peephole vectors included, so the comparison compared gradients.
    moved = [not np.allclose(a, b) for a, b in zip(start, projected.get_weights(), strict=True)]
    assert all(moved), [w.path for w, m in zip(projected.weights, moved, strict=True) if not m]
