"""PeepholeLSTM against a NumPy reference of its equations and against keras.layers.LSTM."""

import inspect
import json
import re

import keras
import numpy as np
import pytest

from custom_layers.peephole import PeepholeLSTM, PeepholeLSTMCell

INPUT_DIM = 3
UNITS = 4


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def peephole_reference(inputs, weights, peephole="diagonal", mask=None, go_backwards=False):
    """The peephole LSTM equations in NumPy; masked steps keep state and output."""
    kernel, recurrent_kernel, bias, *peepholes = weights
    batch, steps, _ = inputs.shape
    units = recurrent_kernel.shape[0]
    h = np.zeros((batch, units))
    c = np.zeros((batch, units))
    outputs = []
    order = range(steps - 1, -1, -1) if go_backwards else range(steps)
    for t in order:
        z = inputs[:, t] @ kernel + h @ recurrent_kernel + bias
        z_i, z_f, z_c, z_o = np.split(z, 4, axis=1)
        if peephole == "diagonal":
            p_i, p_f, p_o = peepholes
            i = sigmoid(z_i + p_i * c)
            f = sigmoid(z_f + p_f * c)
            new_c = f * c + i * np.tanh(z_c)
            o = sigmoid(z_o + p_o * new_c)
        else:
            (p,) = peepholes
            from_c = c @ p
            i = sigmoid(z_i + from_c[:, :units])
            f = sigmoid(z_f + from_c[:, units : 2 * units])
            new_c = f * c + i * np.tanh(z_c + from_c[:, 2 * units : 3 * units])
            o = sigmoid(z_o + new_c @ p[:, 3 * units :])
        new_h = o * np.tanh(new_c)
        if mask is not None:
            keep = mask[:, t : t + 1]
            new_h = np.where(keep, new_h, h)
            new_c = np.where(keep, new_c, c)
        h, c = new_h, new_c
        outputs.append(h)
    return np.stack(outputs, axis=1), h, c


def random_weights(peephole, seed=1, use_bias=True):
    rng = np.random.default_rng(seed)
    weights = [
        rng.normal(0.0, 0.6, (INPUT_DIM, 4 * UNITS)),
        rng.normal(0.0, 0.6, (UNITS, 4 * UNITS)),
    ]
    if use_bias:
        weights.append(rng.normal(0.0, 0.3, (4 * UNITS,)))
    if peephole == "diagonal":
        weights += [rng.normal(0.0, 0.8, (UNITS,)) for _ in range(3)]
    else:
        weights.append(rng.normal(0.0, 0.6, (UNITS, 4 * UNITS)))
    return [w.astype("float32") for w in weights]


def random_inputs(batch=3, steps=6, seed=2):
    return np.random.default_rng(seed).normal(0.0, 1.0, (batch, steps, INPUT_DIM)).astype("float32")


@pytest.mark.parametrize("peephole", ["diagonal", "full"])
@pytest.mark.parametrize("go_backwards", [False, True])
@pytest.mark.parametrize("masked", [False, True])
def test_peephole_matches_numpy_reference(peephole, go_backwards, masked):
    inputs = random_inputs()
    mask = None
    if masked:
        mask = np.ones(inputs.shape[:2], dtype=bool)
        mask[0, 4:] = False  # right padding
        mask[1, 0] = False  # a masked first step
        mask[2, 2] = False  # a masked step in the middle
    weights = random_weights(peephole)
    layer = PeepholeLSTM(
        UNITS,
        peephole=peephole,
        go_backwards=go_backwards,
        return_sequences=True,
        return_state=True,
    )
    layer.build(inputs.shape)
    layer.set_weights(weights)

    outputs, last_h, last_c = layer(inputs, mask=mask)

    expected_outputs, expected_h, expected_c = peephole_reference(
        inputs, weights, peephole, mask=mask, go_backwards=go_backwards
    )
    np.testing.assert_allclose(keras.ops.convert_to_numpy(outputs), expected_outputs, atol=1e-5)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(last_h), expected_h, atol=1e-5)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(last_c), expected_c, atol=1e-5)


def test_peephole_without_bias_matches_numpy_reference():
    inputs = random_inputs()
    weights = random_weights("diagonal", use_bias=False)
    layer = PeepholeLSTM(UNITS, use_bias=False)
    layer.build(inputs.shape)
    layer.set_weights(weights)

    reference_weights = weights[:2] + [np.zeros(4 * UNITS)] + weights[2:]
    _, expected_h, _ = peephole_reference(inputs, reference_weights)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(layer(inputs)), expected_h, atol=1e-5)


@pytest.mark.parametrize("peephole", ["diagonal", "full"])
def test_peephole_with_zero_peepholes_equals_lstm(peephole):
    inputs = random_inputs(batch=4, steps=7)
    mask = np.ones(inputs.shape[:2], dtype=bool)
    mask[1, 5:] = False
    lstm = keras.layers.LSTM(UNITS, return_sequences=True, return_state=True)
    lstm.build(inputs.shape)
    lstm_weights = lstm.get_weights()
    lstm_weights[2] = np.random.default_rng(3).normal(0.0, 0.5, 4 * UNITS).astype("float32")
    lstm.set_weights(lstm_weights)

    peephole_lstm = PeepholeLSTM(UNITS, peephole=peephole, return_sequences=True, return_state=True)
    peephole_lstm.build(inputs.shape)
    if peephole == "diagonal":
        zero_peepholes = [np.zeros(UNITS)] * 3
    else:
        zero_peepholes = [np.zeros((UNITS, 4 * UNITS))]
    # The documented warm start: an LSTM's weights, then the peepholes.
    peephole_lstm.set_weights(lstm.get_weights() + zero_peepholes)

    for expected, got in zip(lstm(inputs, mask=mask), peephole_lstm(inputs, mask=mask)):
        np.testing.assert_allclose(keras.ops.convert_to_numpy(got), keras.ops.convert_to_numpy(expected), atol=1e-6)


def test_peephole_weights_are_named_and_ordered_like_lstm_then_peepholes():
    layer = PeepholeLSTM(UNITS)
    layer.build((None, 5, INPUT_DIM))
    assert [(w.name, tuple(w.shape)) for w in layer.weights] == [
        ("kernel", (INPUT_DIM, 4 * UNITS)),
        ("recurrent_kernel", (UNITS, 4 * UNITS)),
        ("bias", (4 * UNITS,)),
        ("input_gate_peephole_weights", (UNITS,)),
        ("forget_gate_peephole_weights", (UNITS,)),
        ("output_gate_peephole_weights", (UNITS,)),
    ]
    full = PeepholeLSTM(UNITS, peephole="full", use_bias=False)
    full.build((None, 5, INPUT_DIM))
    assert [(w.name, tuple(w.shape)) for w in full.weights] == [
        ("kernel", (INPUT_DIM, 4 * UNITS)),
        ("recurrent_kernel", (UNITS, 4 * UNITS)),
        ("peephole_kernel", (UNITS, 4 * UNITS)),
    ]


def test_peephole_unit_forget_bias_sets_forget_gate_bias_to_one():
    layer = PeepholeLSTM(UNITS)
    layer.build((None, 5, INPUT_DIM))
    expected = np.concatenate([np.zeros(UNITS), np.ones(UNITS), np.zeros(2 * UNITS)])
    np.testing.assert_array_equal(layer.get_weights()[2], expected)
    plain = PeepholeLSTM(UNITS, unit_forget_bias=False)
    plain.build((None, 5, INPUT_DIM))
    np.testing.assert_array_equal(plain.get_weights()[2], np.zeros(4 * UNITS))


@pytest.mark.parametrize(
    "arguments, shown",
    [
        ({"units": 0}, "got 0"),
        ({"units": -3}, "got -3"),
        ({"units": 2.5}, "got 2.5"),
        ({"units": 4, "peephole": "diag"}, "got 'diag'"),
        ({"units": 4, "dropout": 1.0}, "got 1.0"),
        ({"units": 4, "dropout": -0.1}, "got -0.1"),
        ({"units": 4, "recurrent_dropout": 1.5}, "got 1.5"),
    ],
)
def test_peephole_rejects_bad_arguments_showing_the_value(arguments, shown):
    with pytest.raises(ValueError, match=re.escape(shown)):
        PeepholeLSTM(**arguments)
    with pytest.raises(ValueError, match=re.escape(shown)):
        PeepholeLSTMCell(**arguments)


def test_peephole_config_holds_every_argument_and_round_trips():
    layer = PeepholeLSTM(
        5,
        activation="relu",
        recurrent_activation="hard_sigmoid",
        use_bias=False,
        peephole="full",
        peephole_initializer="zeros",
        unit_forget_bias=False,
        kernel_regularizer="l2",
        peephole_constraint="non_neg",
        dropout=0.25,
        recurrent_dropout=0.125,
        seed=7,
        return_sequences=True,
        return_state=True,
        go_backwards=True,
        unroll=True,
        name="peephole_under_test",
    )
    config = layer.get_config()
    json.dumps(config)
    arguments = set(inspect.signature(PeepholeLSTM.__init__).parameters) - {"self", "kwargs"}
    assert arguments <= set(config)
    assert "cell" not in config
    clone = PeepholeLSTM.from_config(config)
    assert clone.get_config() == config
    assert (clone.peephole, clone.dropout, clone.seed, clone.go_backwards) == ("full", 0.25, 7, True)

    cell_config = layer.cell.get_config()
    cell_arguments = set(inspect.signature(PeepholeLSTMCell.__init__).parameters)
    assert cell_arguments - {"self", "kwargs"} <= set(cell_config)
    assert PeepholeLSTMCell.from_config(cell_config).get_config() == cell_config


def test_peephole_cell_runs_in_plain_rnn_and_serializes():
    inputs = random_inputs()
    weights = random_weights("diagonal")
    rnn = keras.layers.RNN(PeepholeLSTMCell(UNITS), return_sequences=True)
    rnn.build(inputs.shape)
    rnn.set_weights(weights)
    expected, _, _ = peephole_reference(inputs, weights)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(rnn(inputs)), expected, atol=1e-5)

    clone = keras.layers.deserialize(keras.layers.serialize(rnn))
    clone.build(inputs.shape)
    clone.set_weights(weights)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(clone(inputs)), expected, atol=1e-5)


def test_peephole_cell_in_plain_rnn_refuses_dropout_in_training():
    rnn = keras.layers.RNN(PeepholeLSTMCell(UNITS, dropout=0.5))
    with pytest.raises(ValueError, match="PeepholeLSTM"):
        rnn(random_inputs(), training=True)


def test_peephole_stateful_continues_from_the_last_batch():
    inputs = random_inputs(batch=2, steps=6)
    weights = random_weights("diagonal")
    layer = PeepholeLSTM(UNITS, stateful=True, return_sequences=True)
    layer.build(inputs.shape)
    layer.set_weights(weights)
    first = keras.ops.convert_to_numpy(layer(inputs[:, :3]))
    second = keras.ops.convert_to_numpy(layer(inputs[:, 3:]))
    expected, _, _ = peephole_reference(inputs, weights)
    np.testing.assert_allclose(np.concatenate([first, second], axis=1), expected, atol=1e-5)


def test_peephole_unrolled_equals_loop():
    inputs = random_inputs()
    weights = random_weights("full")
    looped = PeepholeLSTM(UNITS, peephole="full", return_sequences=True)
    unrolled = PeepholeLSTM(UNITS, peephole="full", return_sequences=True, unroll=True)
    for layer in (looped, unrolled):
        layer.build(inputs.shape)
        layer.set_weights(weights)
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(unrolled(inputs)),
        keras.ops.convert_to_numpy(looped(inputs)),
        atol=1e-6,
    )


def tagger_outputs(embedded, bidirectional, **layer_arguments):
    """Two stacked PeepholeLSTM and a Dense tag head on masked word vectors.

    Returns the tags and the last states of the second layer.
    """

    def wrap(layer):
        return keras.layers.Bidirectional(layer) if bidirectional else layer

    # Stacked: the second layer reads the first one's sequence.
    x = wrap(PeepholeLSTM(UNITS, return_sequences=True, **layer_arguments))(embedded)
    x, *last_states = wrap(PeepholeLSTM(UNITS, return_sequences=True, return_state=True, **layer_arguments))(x)
    return [keras.layers.Dense(3, activation="softmax")(x), *last_states]


def build_tagger(bidirectional, **layer_arguments):
    """Embedding(mask_zero) -> two stacked PeepholeLSTM -> Dense tag head."""
    words = keras.Input((None,), dtype="int32")
    embedded = keras.layers.Embedding(20, 5, mask_zero=True)(words)
    tags, *_ = tagger_outputs(embedded, bidirectional, **layer_arguments)
    return keras.Model(words, tags)


def test_peephole_padding_changes_no_valid_output():
    # One model, two taggers on the same masked words: forward and bidirectional.
    words = keras.Input((None,), dtype="int32")
    embedded = keras.layers.Embedding(20, 5, mask_zero=True)(words)
    forward = tagger_outputs(embedded, False, peephole_initializer="random_normal")
    bidirectional = tagger_outputs(embedded, True, peephole_initializer="random_normal")
    assert (len(forward), len(bidirectional)) == (3, 5)
    model = keras.Model(words, forward + bidirectional)
    sentence = np.array([[4, 9, 2, 7]])
    # The same sentence padded, beside a longer one.
    batch = np.array([[4, 9, 2, 7, 0, 0, 0], [3, 1, 5, 6, 8, 2, 1]])
    alone = model.predict_on_batch(sentence)
    padded = model.predict_on_batch(batch)
    for at_index in (0, len(forward)):  # tags: the valid steps only
        np.testing.assert_allclose(padded[at_index][:1, :4], alone[at_index], atol=1e-6)
    for index, (padded_output, output) in enumerate(zip(padded, alone)):
        if index not in (0, len(forward)):  # last states: untouched by the padding
            np.testing.assert_allclose(padded_output[:1], output, atol=1e-6)


def find_layers(model, layer_class):
    found = []
    for layer in model.layers:
        if isinstance(layer, keras.layers.Bidirectional):
            found += [layer.forward_layer, layer.backward_layer]
        elif isinstance(layer, layer_class):
            found.append(layer)
    return found


def test_peephole_model_saves_and_loads_with_safe_mode(tmp_path):
    model = build_tagger(True, peephole="full", dropout=0.1, recurrent_dropout=0.1)
    words = np.array([[4, 9, 2, 7, 0], [3, 1, 5, 6, 8]])
    expected = model.predict_on_batch(words)
    path = tmp_path / "tagger.keras"
    model.save(path)
    loaded = keras.saving.load_model(path, safe_mode=True)
    np.testing.assert_array_equal(loaded.predict_on_batch(words), expected)
    loaded_layers = find_layers(loaded, PeepholeLSTM)
    assert len(loaded_layers) == 4
    assert [layer.go_backwards for layer in loaded_layers] == [False, True] * 2
    assert {(layer.peephole, layer.dropout) for layer in loaded_layers} == {("full", 0.1)}


def test_peephole_dropout_masks_are_drawn_once_per_sequence():
    steps = 5
    # Every step sees the same input and forgets the past, so with one mask per
    # sequence every step gives the same output; one mask per step would not.
    layer = PeepholeLSTM(UNITS, dropout=0.5, return_sequences=True, seed=11)
    layer.build((2, steps, 8))
    kernel = np.random.default_rng(4).normal(0.0, 1.0, (8, 4 * UNITS)).astype("float32")
    bias = np.zeros(4 * UNITS, dtype="float32")
    bias[UNITS : 2 * UNITS] = -50.0  # forget gate shut
    zeros = np.zeros(UNITS, dtype="float32")
    layer.set_weights([kernel, np.zeros((UNITS, 4 * UNITS)), bias, zeros, zeros, zeros])
    inputs = np.repeat(np.random.default_rng(5).normal(size=(2, 1, 8)), steps, axis=1)

    trained = keras.ops.convert_to_numpy(layer(inputs, training=True))
    inferred = keras.ops.convert_to_numpy(layer(inputs, training=False))

    np.testing.assert_allclose(trained, np.repeat(trained[:, :1], steps, axis=1), atol=1e-6)
    assert not np.allclose(trained, inferred, atol=1e-3)
    np.testing.assert_allclose(inferred, keras.ops.convert_to_numpy(layer(inputs, training=False)), atol=0)


def test_peephole_without_dropout_draws_no_random_numbers():
    inputs = random_inputs()
    quiet = PeepholeLSTM(UNITS)
    noisy = PeepholeLSTM(UNITS, recurrent_dropout=0.3)
    for layer in (quiet, noisy):
        layer.build(inputs.shape)
    quiet_state = keras.ops.convert_to_numpy(quiet.cell.seed_generator.state)
    noisy_state = keras.ops.convert_to_numpy(noisy.cell.seed_generator.state)
    quiet(inputs, training=True)
    noisy(inputs, training=True)
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(quiet.cell.seed_generator.state), quiet_state)
    assert not np.array_equal(keras.ops.convert_to_numpy(noisy.cell.seed_generator.state), noisy_state)


def test_peephole_trains_with_dropout_and_moves_its_peepholes():
    words_input = keras.Input((None,), dtype="int32")
    x = keras.layers.Embedding(20, 5, mask_zero=True)(words_input)
    x = keras.layers.Bidirectional(
        PeepholeLSTM(UNITS, return_sequences=True, dropout=0.2, recurrent_dropout=0.2, seed=3)
    )(x)
    model = keras.Model(words_input, keras.layers.Dense(3, activation="softmax")(x))
    model.compile(optimizer=keras.optimizers.Adam(0.05), loss="sparse_categorical_crossentropy")
    words = np.array([[4, 9, 2, 7, 0], [3, 1, 5, 6, 8]] * 4)
    tags = np.array([[0, 1, 2, 1, 0], [2, 2, 1, 0, 1]] * 4)
    peepholes = [layer.cell.input_gate_peephole_weights for layer in find_layers(model, PeepholeLSTM)]
    before = [keras.ops.convert_to_numpy(weights) for weights in peepholes]
    history = model.fit(words, tags, batch_size=4, epochs=2, verbose=0)
    assert np.all(np.isfinite(history.history["loss"]))
    for weights, weights_before in zip(peepholes, before):  # both directions learn
        assert not np.allclose(keras.ops.convert_to_numpy(weights), weights_before)
