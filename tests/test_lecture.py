"""The lecture's worked examples, computed by Keras layers, and the walk-through that prints them."""

import keras
import numpy as np
import pytest

from custom_layers.jordan import JordanRNN
from custom_layers.peephole import PeepholeLSTM
from recipes import lecture

INPUTS = np.array([[[1, 1], [1, 1], [2, 2]]], dtype="float32")
REORDERED = np.array([[[2, 2], [1, 1], [1, 1]]], dtype="float32")

HUMAN_SEQUENCE = np.array(
    [[[1, 0, 0], [3, 1, 0], [2, 0, 0], [4, 1, 0], [2, 0, 0], [1, 0, 1], [3, -1, 0], [6, 1, 0], [1, 0, 1]]],
    dtype="float32",
)
HUMAN_OUTPUTS = [0, 0, 0, 0, 0, 7, 0, 0, 6]
HUMAN_SHORT_SEQUENCE = np.array([[[3, 1, 0], [4, 1, 0], [2, 0, 0], [1, 0, 1], [3, -1, 0]]], dtype="float32")
HUMAN_SHORT_OUTPUTS = [0, 0, 0, 7, 0]


def all_ones_elman():
    inputs = keras.Input((None, 2))
    hidden = keras.layers.SimpleRNN(2, activation="linear", use_bias=False, return_sequences=True)
    output = keras.layers.Dense(2, use_bias=False)
    model = keras.Model(inputs, output(hidden(inputs)))
    for layer in (hidden, output):
        layer.set_weights([np.ones_like(weights) for weights in layer.get_weights()])
    return model


def test_elman_example_gives_4_12_32():
    outputs = keras.ops.convert_to_numpy(all_ones_elman()(INPUTS))
    np.testing.assert_allclose(outputs[0], [[4, 4], [12, 12], [32, 32]], atol=1e-6)


def test_elman_example_outputs_change_with_input_order():
    model = all_ones_elman()
    outputs = keras.ops.convert_to_numpy(model(REORDERED))
    np.testing.assert_allclose(outputs[0], [[8, 8], [20, 20], [44, 44]], atol=1e-6)
    assert not np.allclose(outputs, keras.ops.convert_to_numpy(model(INPUTS)))


def test_lecture_elman_walkthrough_shows_memory_and_outputs():
    model = lecture.build_elman_example()
    memory, outputs = lecture.run_elman(model, INPUTS[0])
    np.testing.assert_allclose(memory, [[2, 2], [6, 6], [16, 16]], atol=1e-6)
    np.testing.assert_allclose(outputs, [[4, 4], [12, 12], [32, 32]], atol=1e-6)
    assert all(np.all(weights == 1) for weights in model.get_weights())


def test_jordan_example_feeds_back_outputs_4_20_88():
    layer = lecture.build_jordan_example()
    hidden, outputs = lecture.run_jordan(layer, INPUTS[0])
    np.testing.assert_allclose(outputs, [[4, 4], [20, 20], [88, 88]], atol=1e-5)
    np.testing.assert_allclose(hidden, [[2, 2], [10, 10], [44, 44]], atol=1e-5)
    assert [w.name for w in layer.weights] == ["kernel", "recurrent_kernel", "output_kernel"]
    assert all(np.all(weights == 1) for weights in layer.get_weights())
    _, reordered = lecture.run_jordan(layer, REORDERED[0])
    np.testing.assert_allclose(reordered, [[8, 8], [36, 36], [148, 148]], atol=1e-5)


def human_lstm(layer_class):
    """One cell: input gate sigma(100 x2 - 10), forget sigma(100 x2 + 10), output sigma(100 x3 - 10)."""
    layer = layer_class(1, activation="linear", return_sequences=True)
    layer.build((None, None, 3))
    #                  i      f      c     o
    kernel = np.array([[0, 0, 1, 0], [100, 100, 0, 0], [0, 0, 0, 100]], dtype="float32")
    bias = np.array([-10, 10, 0, -10], dtype="float32")
    weights = [kernel, np.zeros((1, 4)), bias]
    if layer_class is PeepholeLSTM:
        weights += [np.zeros(1)] * 3
    layer.set_weights(weights)
    return layer


@pytest.mark.parametrize("layer_class", [keras.layers.LSTM, PeepholeLSTM])
def test_human_lstm_remembers_adds_erases_and_reads_out(layer_class):
    layer = human_lstm(layer_class)
    long_outputs = keras.ops.convert_to_numpy(layer(HUMAN_SEQUENCE))[0, :, 0]
    short_outputs = keras.ops.convert_to_numpy(layer(HUMAN_SHORT_SEQUENCE))[0, :, 0]
    np.testing.assert_allclose(long_outputs, HUMAN_OUTPUTS, atol=1e-3)
    np.testing.assert_allclose(short_outputs, HUMAN_SHORT_OUTPUTS, atol=1e-3)


@pytest.mark.parametrize("peephole", [False, True])
def test_lecture_human_lstm_trace_shows_gates_memory_and_output(peephole):
    layer = lecture.build_human_lstm(peephole=peephole)
    assert isinstance(layer, PeepholeLSTM) == peephole
    trace = lecture.trace_human_lstm(layer, HUMAN_SEQUENCE[0])
    np.testing.assert_allclose(trace["input_gate"], [0, 1, 0, 1, 0, 0, 0, 1, 0], atol=1e-3)
    np.testing.assert_allclose(trace["forget_gate"], [1, 1, 1, 1, 1, 1, 0, 1, 1], atol=1e-3)
    np.testing.assert_allclose(trace["output_gate"], [0, 0, 0, 0, 0, 1, 0, 0, 1], atol=1e-3)
    np.testing.assert_allclose(trace["memory"], [0, 3, 3, 7, 7, 7, 0, 6, 6], atol=1e-3)
    np.testing.assert_allclose(trace["output"], HUMAN_OUTPUTS, atol=1e-3)
    # The step-by-step cell and the whole-sequence layer agree.
    layer_outputs = keras.ops.convert_to_numpy(layer(HUMAN_SEQUENCE))[0, :, 0]
    np.testing.assert_allclose(trace["output"], layer_outputs, atol=1e-6)


ZEROS = {"kernel_initializer": "zeros", "recurrent_initializer": "zeros"}


def count(layer, input_dim):
    layer.build((None, None, input_dim))
    return layer.count_params()


@pytest.mark.parametrize("input_dim, units", [(2, 2), (7, 3), (100, 128), (300, 64)])
def test_parameter_counts_follow_the_formulas(input_dim, units):
    simple_rnn = count(keras.layers.SimpleRNN(units, **ZEROS), input_dim)
    lstm = count(keras.layers.LSTM(units, **ZEROS), input_dim)
    gru = count(keras.layers.GRU(units, **ZEROS), input_dim)
    gru_reset_before = count(keras.layers.GRU(units, reset_after=False, **ZEROS), input_dim)
    peephole = count(PeepholeLSTM(units, peephole_initializer="zeros", **ZEROS), input_dim)
    full = count(PeepholeLSTM(units, peephole="full", peephole_initializer="zeros", **ZEROS), input_dim)
    jordan = count(JordanRNN(units, 9, output_initializer="zeros", **ZEROS), input_dim)

    assert simple_rnn == units * (input_dim + units) + units
    assert lstm == 4 * simple_rnn  # four transforms: i, f, c, o
    assert gru_reset_before == 3 * simple_rnn  # three transforms: z, r, h
    assert gru == 3 * (units * (input_dim + units) + 2 * units)  # reset_after: a second bias each
    assert gru == 3 * simple_rnn + 3 * units
    assert peephole == lstm + 3 * units
    assert full == lstm + 4 * units * units
    assert jordan == units * (input_dim + 9) + units + units * 9 + 9


def test_parameter_counts_for_a_tagger_layer():
    assert count(keras.layers.SimpleRNN(128, **ZEROS), 100) == 29_312
    assert count(keras.layers.LSTM(128, **ZEROS), 100) == 117_248
    assert count(keras.layers.GRU(128, **ZEROS), 100) == 88_320
    assert count(PeepholeLSTM(128, peephole_initializer="zeros", **ZEROS), 100) == 117_632


def test_lecture_parameter_table_matches_keras():
    rows = lecture.parameter_table(sizes=((2, 2), (5, 3)), output_units=4)
    assert len(rows) == 14
    for name, input_dim, units, formula, counted in rows:
        assert formula == counted, name
    assert ("LSTM", 2, 2, 40, 40) in rows
    assert ("GRU", 5, 3, 90, 90) in rows


def test_lecture_walkthrough_prints_every_example(capsys):
    assert lecture.main([]) == 0
    printed = capsys.readouterr().out
    for expected in (
        "[4, 4]",
        "[12, 12]",
        "[32, 32]",
        "[44, 44]",
        "[88, 88]",
        "keras.layers.LSTM outputs:  [0, 0, 0, 0, 0, 7, 0, 0, 6]",
        "PeepholeLSTM (zero peepholes): [0, 0, 0, 7, 0]",
        "117632",
    ):
        assert expected in printed


def test_lecture_help_and_bad_flag(capsys):
    with pytest.raises(SystemExit) as exit_help:
        lecture.main(["--help"])
    assert exit_help.value.code == 0
    assert "--example" in capsys.readouterr().out
    with pytest.raises(SystemExit) as exit_bad:
        lecture.main(["--example", "gates"])
    assert exit_bad.value.code == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1
    assert "--example" in error and "'gates'" in error
