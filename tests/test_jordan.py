"""JordanRNN against a NumPy reference of its equations."""

import inspect
import json
import re

import keras
import numpy as np
import pytest

from custom_layers.jordan import JordanRNN, JordanRNNCell

INPUT_DIM = 3
UNITS = 5
OUTPUT_UNITS = 4


def softmax(x):
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def jordan_reference(inputs, weights, mask=None, go_backwards=False, activation=np.tanh, output_activation=softmax):
    """The Jordan equations in NumPy; masked steps keep memory and output."""
    kernel, recurrent_kernel, bias, output_kernel, output_bias = weights
    batch, steps, _ = inputs.shape
    y = np.zeros((batch, output_kernel.shape[1]))
    outputs = []
    order = range(steps - 1, -1, -1) if go_backwards else range(steps)
    for t in order:
        hidden = activation(inputs[:, t] @ kernel + y @ recurrent_kernel + bias)
        new_y = output_activation(hidden @ output_kernel + output_bias)
        if mask is not None:
            new_y = np.where(mask[:, t : t + 1], new_y, y)
        y = new_y
        outputs.append(y)
    return np.stack(outputs, axis=1), y


def random_weights(seed=1):
    rng = np.random.default_rng(seed)
    weights = [
        rng.normal(0.0, 0.7, (INPUT_DIM, UNITS)),
        rng.normal(0.0, 1.5, (OUTPUT_UNITS, UNITS)),
        rng.normal(0.0, 0.3, (UNITS,)),
        rng.normal(0.0, 1.0, (UNITS, OUTPUT_UNITS)),
        rng.normal(0.0, 0.3, (OUTPUT_UNITS,)),
    ]
    return [w.astype("float32") for w in weights]


def random_inputs(batch=3, steps=6, seed=2):
    return np.random.default_rng(seed).normal(0.0, 1.0, (batch, steps, INPUT_DIM)).astype("float32")


@pytest.mark.parametrize("go_backwards", [False, True])
@pytest.mark.parametrize("masked", [False, True])
def test_jordan_matches_numpy_reference(go_backwards, masked):
    inputs = random_inputs()
    mask = None
    if masked:
        mask = np.ones(inputs.shape[:2], dtype=bool)
        mask[0, 4:] = False  # right padding
        mask[1, 0] = False  # a masked first step
        mask[2, 2] = False  # a masked step in the middle
    weights = random_weights()
    layer = JordanRNN(UNITS, OUTPUT_UNITS, go_backwards=go_backwards, return_sequences=True, return_state=True)
    layer.build(inputs.shape)
    layer.set_weights(weights)

    outputs, last_memory = layer(inputs, mask=mask)

    expected_outputs, expected_memory = jordan_reference(inputs, weights, mask=mask, go_backwards=go_backwards)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(outputs), expected_outputs, atol=1e-5)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(last_memory), expected_memory, atol=1e-5)


def test_jordan_with_other_activations_and_no_bias_matches_numpy_reference():
    inputs = random_inputs()
    weights = random_weights(seed=6)
    layer = JordanRNN(
        UNITS,
        OUTPUT_UNITS,
        activation="relu",
        output_activation="sigmoid",
        use_bias=False,
        return_sequences=True,
    )
    layer.build(inputs.shape)
    layer.set_weights([weights[0], weights[1], weights[3]])

    no_bias = [weights[0], weights[1], np.zeros(UNITS), weights[3], np.zeros(OUTPUT_UNITS)]
    expected, _ = jordan_reference(
        inputs,
        no_bias,
        activation=lambda x: np.maximum(x, 0.0),
        output_activation=lambda x: 1.0 / (1.0 + np.exp(-x)),
    )
    np.testing.assert_allclose(keras.ops.convert_to_numpy(layer(inputs)), expected, atol=1e-5)


def test_jordan_memory_is_the_previous_output_not_the_hidden_layer():
    # One input pulse, then nothing: the second output comes from U y_1 alone.
    layer = JordanRNN(2, 2, activation="linear", output_activation="linear", use_bias=False, return_sequences=True)
    layer.build((1, 2, 1))
    kernel = np.array([[1.0, 2.0]])
    recurrent_kernel = np.array([[1.0, 0.0], [0.0, 0.0]])  # reads y_1[0] only
    output_kernel = np.array([[0.0, 3.0], [5.0, 0.0]])
    layer.set_weights([kernel, recurrent_kernel, output_kernel])
    outputs = keras.ops.convert_to_numpy(layer(np.array([[[1.0], [0.0]]])))
    # h_1 = [1, 2], y_1 = [10, 3]; h_2 = [10, 0] (from y_1), y_2 = [0, 30].
    np.testing.assert_allclose(outputs[0], [[10.0, 3.0], [0.0, 30.0]], atol=1e-6)


def test_jordan_softmax_output_is_a_distribution():
    layer = JordanRNN(UNITS, OUTPUT_UNITS, return_sequences=True)
    outputs = keras.ops.convert_to_numpy(layer(random_inputs()))
    assert outputs.shape == (3, 6, OUTPUT_UNITS)
    np.testing.assert_allclose(outputs.sum(axis=-1), 1.0, atol=1e-5)
    assert np.all(outputs > 0)


def test_jordan_weights_are_named_and_ordered():
    layer = JordanRNN(UNITS, OUTPUT_UNITS)
    layer.build((None, 5, INPUT_DIM))
    assert [(w.name, tuple(w.shape)) for w in layer.weights] == [
        ("kernel", (INPUT_DIM, UNITS)),
        ("recurrent_kernel", (OUTPUT_UNITS, UNITS)),
        ("bias", (UNITS,)),
        ("output_kernel", (UNITS, OUTPUT_UNITS)),
        ("output_bias", (OUTPUT_UNITS,)),
    ]
    no_bias = JordanRNN(UNITS, OUTPUT_UNITS, use_bias=False)
    no_bias.build((None, 5, INPUT_DIM))
    assert [w.name for w in no_bias.weights] == ["kernel", "recurrent_kernel", "output_kernel"]


@pytest.mark.parametrize(
    "arguments, shown",
    [
        ({"units": 0, "output_units": 3}, "got 0"),
        ({"units": -2, "output_units": 3}, "got -2"),
        ({"units": 4, "output_units": 0}, "got 0"),
        ({"units": 4, "output_units": -1}, "got -1"),
        ({"units": 4, "output_units": "9"}, "got '9'"),
        ({"units": 4, "output_units": 3, "dropout": 1.0}, "got 1.0"),
        ({"units": 4, "output_units": 3, "recurrent_dropout": -0.5}, "got -0.5"),
    ],
)
def test_jordan_rejects_bad_arguments_showing_the_value(arguments, shown):
    with pytest.raises(ValueError, match=re.escape(shown)):
        JordanRNN(**arguments)
    with pytest.raises(ValueError, match=re.escape(shown)):
        JordanRNNCell(**arguments)


def test_jordan_config_holds_every_argument_and_round_trips():
    layer = JordanRNN(
        6,
        output_units=3,
        activation="relu",
        output_activation="sigmoid",
        use_bias=False,
        output_initializer="zeros",
        output_regularizer="l2",
        output_bias_constraint="non_neg",
        dropout=0.25,
        recurrent_dropout=0.125,
        seed=7,
        return_sequences=True,
        return_state=True,
        go_backwards=True,
        unroll=True,
        name="jordan_under_test",
    )
    config = layer.get_config()
    json.dumps(config)
    arguments = set(inspect.signature(JordanRNN.__init__).parameters) - {"self", "kwargs"}
    assert arguments <= set(config)
    assert "cell" not in config
    clone = JordanRNN.from_config(config)
    assert clone.get_config() == config
    assert (clone.output_units, clone.dropout, clone.seed, clone.go_backwards) == (3, 0.25, 7, True)

    cell_config = layer.cell.get_config()
    cell_arguments = set(inspect.signature(JordanRNNCell.__init__).parameters)
    assert cell_arguments - {"self", "kwargs"} <= set(cell_config)
    assert JordanRNNCell.from_config(cell_config).get_config() == cell_config


def test_jordan_cell_runs_in_plain_rnn_and_serializes():
    inputs = random_inputs()
    weights = random_weights()
    rnn = keras.layers.RNN(JordanRNNCell(UNITS, OUTPUT_UNITS), return_sequences=True)
    rnn.build(inputs.shape)
    rnn.set_weights(weights)
    expected, _ = jordan_reference(inputs, weights)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(rnn(inputs)), expected, atol=1e-5)

    clone = keras.layers.deserialize(keras.layers.serialize(rnn))
    clone.build(inputs.shape)
    clone.set_weights(weights)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(clone(inputs)), expected, atol=1e-5)


def test_jordan_cell_in_plain_rnn_refuses_dropout_in_training():
    rnn = keras.layers.RNN(JordanRNNCell(UNITS, OUTPUT_UNITS, recurrent_dropout=0.5))
    with pytest.raises(ValueError, match="JordanRNN"):
        rnn(random_inputs(), training=True)


def test_jordan_stateful_continues_from_the_last_batch():
    inputs = random_inputs(batch=2, steps=6)
    weights = random_weights()
    layer = JordanRNN(UNITS, OUTPUT_UNITS, stateful=True, return_sequences=True)
    layer.build(inputs.shape)
    layer.set_weights(weights)
    first = keras.ops.convert_to_numpy(layer(inputs[:, :3]))
    second = keras.ops.convert_to_numpy(layer(inputs[:, 3:]))
    expected, _ = jordan_reference(inputs, weights)
    np.testing.assert_allclose(np.concatenate([first, second], axis=1), expected, atol=1e-5)


def test_jordan_initial_state_is_the_first_memory():
    inputs = random_inputs()
    weights = random_weights()
    layer = JordanRNN(UNITS, OUTPUT_UNITS, unroll=True, return_sequences=True)
    layer.build(inputs.shape)
    layer.set_weights(weights)
    memory = softmax(np.random.default_rng(8).normal(size=(3, OUTPUT_UNITS))).astype("float32")
    outputs = keras.ops.convert_to_numpy(layer(inputs, initial_state=[memory]))
    # Prepending a step that outputs `memory` is the same as starting from it.
    kernel, recurrent_kernel, bias, output_kernel, output_bias = weights
    hidden = np.tanh(inputs[:, 0] @ kernel + memory @ recurrent_kernel + bias)
    first = softmax(hidden @ output_kernel + output_bias)
    np.testing.assert_allclose(outputs[:, 0], first, atol=1e-5)
    assert not np.allclose(outputs, keras.ops.convert_to_numpy(layer(inputs)), atol=1e-3)


def tagger_outputs(embedded, bidirectional, **layer_arguments):
    """Two stacked JordanRNN and a Dense tag head on masked word vectors.

    Returns the tags and the last states of the second layer.
    """

    def wrap(layer):
        return keras.layers.Bidirectional(layer) if bidirectional else layer

    # Stacked: the second layer reads the first one's distributions.
    x = wrap(JordanRNN(UNITS, OUTPUT_UNITS, return_sequences=True, **layer_arguments))(embedded)
    x, *last_states = wrap(JordanRNN(UNITS, OUTPUT_UNITS, return_sequences=True, return_state=True, **layer_arguments))(
        x
    )
    return [keras.layers.Dense(3, activation="softmax")(x), *last_states]


def build_tagger(bidirectional, **layer_arguments):
    """Embedding(mask_zero) -> two stacked JordanRNN -> Dense tag head."""
    words = keras.Input((None,), dtype="int32")
    embedded = keras.layers.Embedding(20, 5, mask_zero=True)(words)
    tags, *_ = tagger_outputs(embedded, bidirectional, **layer_arguments)
    return keras.Model(words, tags)


def find_layers(model, layer_class):
    found = []
    for layer in model.layers:
        if isinstance(layer, keras.layers.Bidirectional):
            found += [layer.forward_layer, layer.backward_layer]
        elif isinstance(layer, layer_class):
            found.append(layer)
    return found


def test_jordan_padding_changes_no_valid_output():
    # One model, two taggers on the same masked words: forward and bidirectional.
    words = keras.Input((None,), dtype="int32")
    embedded = keras.layers.Embedding(20, 5, mask_zero=True)(words)
    forward = tagger_outputs(embedded, False, recurrent_initializer="random_normal")
    bidirectional = tagger_outputs(embedded, True, recurrent_initializer="random_normal")
    assert (len(forward), len(bidirectional)) == (2, 3)
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


def test_jordan_bidirectional_concatenates_two_label_distributions():
    layer = keras.layers.Bidirectional(JordanRNN(UNITS, OUTPUT_UNITS, return_sequences=True))
    outputs = keras.ops.convert_to_numpy(layer(random_inputs()))
    assert outputs.shape == (3, 6, 2 * OUTPUT_UNITS)
    np.testing.assert_allclose(outputs[..., :OUTPUT_UNITS].sum(axis=-1), 1.0, atol=1e-5)
    np.testing.assert_allclose(outputs[..., OUTPUT_UNITS:].sum(axis=-1), 1.0, atol=1e-5)


def test_jordan_model_saves_and_loads_with_safe_mode(tmp_path):
    model = build_tagger(True, dropout=0.1, recurrent_dropout=0.1)
    words = np.array([[4, 9, 2, 7, 0], [3, 1, 5, 6, 8]])
    expected = model.predict_on_batch(words)
    path = tmp_path / "tagger.keras"
    model.save(path)
    loaded = keras.saving.load_model(path, safe_mode=True)
    np.testing.assert_array_equal(loaded.predict_on_batch(words), expected)
    loaded_layers = find_layers(loaded, JordanRNN)
    assert len(loaded_layers) == 4
    assert [layer.go_backwards for layer in loaded_layers] == [False, True] * 2
    assert {(layer.output_units, layer.dropout) for layer in loaded_layers} == {(OUTPUT_UNITS, 0.1)}


def test_jordan_dropout_masks_are_drawn_once_per_sequence():
    steps = 5
    # Every step sees the same input and the memory is not read, so with one
    # mask per sequence every step gives the same output; one per step would not.
    layer = JordanRNN(UNITS, OUTPUT_UNITS, dropout=0.5, return_sequences=True, seed=11)
    layer.build((2, steps, 8))
    weights = random_weights()
    weights[0] = np.random.default_rng(4).normal(0.0, 1.0, (8, UNITS)).astype("float32")
    weights[1] = np.zeros((OUTPUT_UNITS, UNITS), dtype="float32")
    layer.set_weights(weights)
    inputs = np.repeat(np.random.default_rng(5).normal(size=(2, 1, 8)), steps, axis=1)

    trained = keras.ops.convert_to_numpy(layer(inputs, training=True))
    inferred = keras.ops.convert_to_numpy(layer(inputs, training=False))

    np.testing.assert_allclose(trained, np.repeat(trained[:, :1], steps, axis=1), atol=1e-6)
    assert not np.allclose(trained, inferred, atol=1e-3)
    np.testing.assert_allclose(inferred, keras.ops.convert_to_numpy(layer(inputs, training=False)), atol=0)


def test_jordan_without_dropout_draws_no_random_numbers():
    inputs = random_inputs()
    quiet = JordanRNN(UNITS, OUTPUT_UNITS)
    noisy = JordanRNN(UNITS, OUTPUT_UNITS, dropout=0.3)
    for layer in (quiet, noisy):
        layer.build(inputs.shape)
    quiet_state = keras.ops.convert_to_numpy(quiet.cell.seed_generator.state)
    noisy_state = keras.ops.convert_to_numpy(noisy.cell.seed_generator.state)
    quiet(inputs, training=True)
    noisy(inputs, training=True)
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(quiet.cell.seed_generator.state), quiet_state)
    assert not np.array_equal(keras.ops.convert_to_numpy(noisy.cell.seed_generator.state), noisy_state)


def test_jordan_trains_with_dropout_in_both_directions():
    words_input = keras.Input((None,), dtype="int32")
    x = keras.layers.Embedding(20, 5, mask_zero=True)(words_input)
    x = keras.layers.Bidirectional(
        JordanRNN(UNITS, 3, return_sequences=True, dropout=0.2, recurrent_dropout=0.2, seed=3)
    )(x)
    model = keras.Model(words_input, keras.layers.Dense(3, activation="softmax")(x))
    model.compile(optimizer=keras.optimizers.Adam(0.05), loss="sparse_categorical_crossentropy")
    words = np.array([[4, 9, 2, 7, 0], [3, 1, 5, 6, 8]] * 4)
    tags = np.array([[0, 1, 2, 1, 0], [2, 2, 1, 0, 1]] * 4)
    kernels = [layer.cell.recurrent_kernel for layer in find_layers(model, JordanRNN)]
    before = [keras.ops.convert_to_numpy(kernel) for kernel in kernels]
    history = model.fit(words, tags, batch_size=4, epochs=2, verbose=0)
    assert np.all(np.isfinite(history.history["loss"]))
    for kernel, kernel_before in zip(kernels, before):
        assert not np.allclose(keras.ops.convert_to_numpy(kernel), kernel_before)
