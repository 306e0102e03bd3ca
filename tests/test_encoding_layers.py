"""Tests of the input-encoding layers: 1-of-N words, letter trigrams, context windows."""

import keras
import numpy as np
import pytest
from keras import ops

from custom_layers.encoding import ContextWindow, OneHot, TrigramEmbedding


def to_numpy(x):
    return ops.convert_to_numpy(x)


def bidirectional_outputs(encoder, ids, input_shape):
    """Outputs of encoder -> Bidirectional(LSTM); the backward pass reads padding
    first, so its outputs at words change with padding unless it is masked (a
    non-zero bias moves the state even on the all-zero vectors of padding)."""
    inputs = keras.Input(shape=input_shape, dtype="int32")
    recurrent = keras.layers.Bidirectional(
        keras.layers.LSTM(3, return_sequences=True, bias_initializer="random_normal")
    )
    model = keras.Model(inputs, recurrent(encoder(inputs)))
    return [model.predict(batch, verbose=0) for batch in ids]


def test_one_hot_matches_numpy_and_zeroes_padding():
    ids = np.array([[2, 1, 4, 0, 0], [3, 3, 0, 0, 0]])
    expected = np.eye(5, dtype="float32")[ids]
    expected[ids == 0] = 0.0
    layer = OneHot(5)
    np.testing.assert_array_equal(to_numpy(layer(ids)), expected)
    np.testing.assert_array_equal(to_numpy(layer.compute_mask(ids)), ids != 0)


def test_one_hot_without_mask_zero_encodes_id_zero():
    layer = OneHot(3, mask_zero=False)
    np.testing.assert_array_equal(to_numpy(layer(np.array([[0, 2]]))), [[[1, 0, 0], [0, 0, 1]]])
    assert layer.compute_mask(np.array([[0, 2]])) is None


def test_one_hot_mask_lets_a_bidirectional_lstm_ignore_extra_padding():
    short = np.array([[3, 1, 4]])
    padded = np.array([[3, 1, 4, 0, 0, 0]])
    outputs_short, outputs_padded = bidirectional_outputs(OneHot(6), [short, padded], (None,))
    np.testing.assert_allclose(outputs_padded[:, :3], outputs_short, rtol=1e-5, atol=1e-6)


def test_trigram_embedding_sum_is_the_multi_hot_vector_times_the_matrix():
    ids = np.array([[[1, 4, 6, 0], [2, 0, 0, 0], [0, 0, 0, 0]]])
    layer = TrigramEmbedding(7, 3, embeddings_initializer="random_normal")
    output = to_numpy(layer(ids))
    embeddings = to_numpy(layer.embeddings)
    multi_hot = np.zeros((1, 3, 7), dtype="float32")
    for word, word_ids in enumerate(ids[0]):
        multi_hot[0, word, word_ids[word_ids != 0]] = 1.0
    np.testing.assert_allclose(output, multi_hot @ embeddings, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(output[0, 2], np.zeros(3))


def test_trigram_embedding_mean_averages_over_non_padding_ids():
    layer = TrigramEmbedding(5, 2, combiner="mean")
    layer.build((None, None, 3))
    layer.embeddings.assign(np.array([[100, 100], [1, 2], [3, 4], [5, 9], [7, 0]], "float32"))
    ids = np.array([[[1, 2, 3], [4, 0, 0], [0, 0, 0]], [[2, 2, 0], [0, 0, 0], [0, 0, 0]]])
    output = to_numpy(layer(ids))
    expected = np.array(
        [[[3, 5], [7, 0], [0, 0]], [[3, 4], [0, 0], [0, 0]]], dtype="float32"
    )  # row 0 of the matrix (padding) never counts; padded words are zero, not NaN
    np.testing.assert_allclose(output, expected, rtol=1e-6)


def test_trigram_embedding_masks_words_without_trigrams():
    ids = np.array([[[5, 2], [3, 0], [0, 0]]])
    layer = TrigramEmbedding(8, 4)
    np.testing.assert_array_equal(to_numpy(layer.compute_mask(ids)), [[True, True, False]])
    short = np.array([[[5, 2], [3, 0], [7, 1]]])
    padded = np.concatenate([short, np.zeros((1, 4, 2), "int64")], axis=1)
    outputs_short, outputs_padded = bidirectional_outputs(TrigramEmbedding(8, 4), [short, padded], (None, 2))
    np.testing.assert_allclose(outputs_padded[:, :3], outputs_short, rtol=1e-5, atol=1e-6)


def test_context_window_concatenates_left_self_right_with_zeros_outside():
    x = np.arange(1, 9, dtype="float32").reshape(1, 4, 2)  # words (1,2) (3,4) (5,6) (7,8)
    expected = np.array(
        [
            [
                [0, 0, 1, 2, 3, 4],
                [1, 2, 3, 4, 5, 6],
                [3, 4, 5, 6, 7, 8],
                [5, 6, 7, 8, 0, 0],
            ]
        ],
        dtype="float32",
    )
    np.testing.assert_array_equal(to_numpy(ContextWindow(1)(x)), expected)
    wide = to_numpy(ContextWindow(2)(x))
    assert wide.shape == (1, 4, 10)
    np.testing.assert_array_equal(wide[0, 0], [0, 0, 0, 0, 1, 2, 3, 4, 5, 6])


def test_context_window_treats_masked_steps_as_outside_the_sentence():
    x = np.arange(1, 9, dtype="float32").reshape(1, 4, 2)
    mask = np.array([[True, True, True, False]])
    output = to_numpy(ContextWindow(1)(x, mask=mask))
    np.testing.assert_array_equal(output[0, 2], [3, 4, 5, 6, 0, 0])
    np.testing.assert_array_equal(output[0, 3], [5, 6, 0, 0, 0, 0])  # a padded step sees words too
    assert to_numpy(ContextWindow(1).compute_mask(x, mask)).tolist() == mask.tolist()


def test_context_window_outputs_do_not_change_with_extra_padding():
    inputs = keras.Input(shape=(None,), dtype="int32")
    embedded = keras.layers.Embedding(7, 3, mask_zero=True, embeddings_initializer="random_normal")(
        inputs
    )  # the padding row is not zero: only the mask keeps it out
    windowed = ContextWindow(2)(embedded)
    recurrent = keras.layers.Bidirectional(keras.layers.GRU(2, return_sequences=True))(windowed)
    model = keras.Model(inputs, [windowed, recurrent])
    short = np.array([[4, 2, 6]])
    padded = np.array([[4, 2, 6, 0, 0]])
    window_short, recurrent_short = model.predict(short, verbose=0)
    window_padded, recurrent_padded = model.predict(padded, verbose=0)
    np.testing.assert_allclose(window_padded[:, :3], window_short, rtol=1e-6)
    np.testing.assert_allclose(recurrent_padded[:, :3], recurrent_short, rtol=1e-5, atol=1e-6)


def test_model_of_all_three_layers_saves_and_loads_in_safe_mode(tmp_path):
    word_ids = keras.Input(shape=(None,), dtype="int32", name="words")
    trigram_ids = keras.Input(shape=(None, 4), dtype="int32", name="trigrams")
    words = OneHot(10)(word_ids)
    trigrams = TrigramEmbedding(20, 5, combiner="mean")(trigram_ids)
    features = ContextWindow(1)(keras.layers.Concatenate()([words, trigrams]))
    outputs = keras.layers.Bidirectional(keras.layers.LSTM(3, return_sequences=True))(features)
    model = keras.Model([word_ids, trigram_ids], outputs)
    rng = np.random.default_rng(0)
    batch = {
        "words": np.array([[3, 1, 9, 0], [2, 5, 0, 0]]),
        "trigrams": rng.integers(1, 20, size=(2, 4, 4)) * (np.arange(4) < 3),
    }
    batch["trigrams"][batch["words"] == 0] = 0
    path = tmp_path / "encoder.keras"
    model.save(path)
    loaded = keras.saving.load_model(path, safe_mode=True)
    np.testing.assert_array_equal(loaded.predict(batch, verbose=0), model.predict(batch, verbose=0))


@pytest.mark.parametrize(
    "layer",
    [
        OneHot(7, mask_zero=False, name="words"),
        TrigramEmbedding(9, 4, combiner="mean", embeddings_regularizer="l2"),
        ContextWindow(3),
    ],
)
def test_config_round_trip(layer):
    config = layer.get_config()
    assert type(layer).from_config(config).get_config() == config


@pytest.mark.parametrize(
    "make_layer, shown",
    [
        (lambda: OneHot(0), "num_tokens, expected a positive integer, got 0"),
        (lambda: TrigramEmbedding(10, -2), "output_dim, expected a positive integer, got -2"),
        (lambda: TrigramEmbedding(10, 4, combiner="max"), "got 'max'"),
        (lambda: ContextWindow(-1), "size, expected a non-negative integer, got -1"),
        (lambda: ContextWindow(1.5), "got 1.5"),
    ],
)
def test_bad_arguments_raise_value_error_showing_the_value(make_layer, shown):
    with pytest.raises(ValueError, match=shown):
        make_layer()
