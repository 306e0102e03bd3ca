"""`recipes.exporting.onnx_graph`: the ONNX graph written from a tagger's layers decodes as Keras does.

Every recipe's model and the options that change its layers (encodings, window,
depth, one direction or two, heads, poolings, the intent fed to the tag head),
plus Keras layers with the options the recipes leave at their defaults, are
written as ONNX and run with onnxruntime on padded batches of every length:
the tag ids must equal Keras's decoding (`engines.KerasEngine`) and the intent
probabilities match to 1e-5. No TensorFlow process is involved, so these run
in seconds; `test_export.py` covers the command line and the tf2onnx fallback.
"""

import keras
import numpy as np
import onnxruntime
import pytest

import custom_layers
import data
from data.batching import encode_split, make_batches
from recipes import elman, feedforward, gru, jordan, lstm, peephole_lstm
from recipes.exporting import onnx_graph
from recipes.inference import engines
from recipes.model import description as model_description
from recipes.model import parts as model_parts
from recipes.training import recipe
from support import random_crf_tagger

TINY = {"units": 8, "embedding_dim": 8}
RECIPE_MODELS = {
    "lstm_bi_softmax_attention": (lstm.build_model, {"head": "softmax"}),
    "lstm_one_direction_crf_depth_2": (lstm.build_model, {"bidirectional": False, "depth": 2}),
    "gru_crf_mean_intent_to_slots": (gru.build_model, {"intent_pooling": "mean", "intent_to_slots": True}),
    "elman_onehot_window_2_no_intent": (elman.build_model, {"encoding": "onehot", "window": 2, "intent": False}),
    "peephole_trigrams_depth_2": (peephole_lstm.build_model, {"encoding": "trigram", "depth": 2}),
    "feedforward_embedding_softmax": (feedforward.build_model, {"encoding": "embedding"}),
}


@pytest.fixture(scope="module")
def dataset(tiny_data):
    return data.load_dataset(str(tiny_data))


@pytest.fixture(scope="module")
def encoder(dataset):
    return recipe.fit_encoder(dataset.train)


def draw_weights(model, seed):
    """Every weight from N(0, 0.5^2): far from an untrained model's, so tags and intents differ between words."""
    rng = np.random.default_rng(seed)
    for variable in model.weights:
        variable.assign(rng.normal(0.0, 0.5, size=variable.shape).astype(variable.dtype))


def onnx_session(model):
    graph = onnx_graph.decoded_tagger_onnx(model, model_description.model_input_features(model))
    return onnxruntime.InferenceSession(graph.SerializeToString(), providers=["CPUExecutionProvider"])


def padded_batches(encoder, dataset, features):
    """Every dev and test sentence in batches of mixed lengths, padded to 16 or 24 words, plus rows of padding."""
    split = data.Split(dataset.dev.words + dataset.test.words, dataset.dev.tags + dataset.test.tags)
    return make_batches(encode_split(encoder, split, with_tags=False), 16, features=features, buckets=(16, 24))


def assert_decodes_as_keras(model, encoder, dataset):
    engine = engines.KerasEngine(model)
    session = onnx_session(model)
    names = [output.name for output in session.get_outputs()]
    assert names == (["tag_ids", "intent_probabilities"] if engine.has_intent else ["tag_ids"])
    seen = set()
    for batch in padded_batches(encoder, dataset, engine.features):
        tags, intents = engine.predict_batch(batch)
        outputs = session.run(names, {name: batch.inputs[name] for name in engine.features})
        assert outputs[0].dtype == np.int32
        real = batch.weights > 0
        np.testing.assert_array_equal(outputs[0][real], np.asarray(tags)[real])
        assert not outputs[0][~real].any()  # tag 0 at padding
        if engine.has_intent:
            rows = len(batch.indices)
            np.testing.assert_allclose(outputs[1][:rows], intents[:rows], atol=1e-5)
        seen.update(tuple(row[mask]) for row, mask in zip(outputs[0], real))
    assert len(seen) > 5  # the weights give different answers to different sentences


@pytest.mark.parametrize("name", sorted(RECIPE_MODELS))
def test_every_recipe_model_decodes_in_onnx_as_in_keras(name, encoder, dataset):
    build_model, options = RECIPE_MODELS[name]
    model = build_model(encoder, **{**TINY, **options})
    draw_weights(model, seed=len(name))
    assert_decodes_as_keras(model, encoder, dataset)


def tagger_of(encoder, recurrent, head="softmax", intent=True):
    """Word vectors -> `recurrent` -> a tag head, and an attention intent head: a model of Keras's own layers."""
    inputs, x = model_parts.encode_inputs(encoder, "embedding", 8, window=1)
    outputs = model_parts.output_heads(recurrent(x), encoder, head, intent)
    return keras.Model(inputs, outputs)


@pytest.mark.parametrize(
    "layer",
    [
        lambda: keras.layers.Bidirectional(keras.layers.LSTM(6, return_sequences=True, use_bias=False)),
        lambda: keras.layers.GRU(6, return_sequences=True, reset_after=False),
        lambda: keras.layers.Bidirectional(keras.layers.GRU(6, return_sequences=True, use_bias=False)),
        lambda: keras.layers.SimpleRNN(6, return_sequences=True, activation="relu"),
        lambda: custom_layers.PeepholeLSTM(6, return_sequences=True, use_bias=False),
    ],
    ids=["lstm-no-bias", "gru-reset-before", "gru-no-bias", "simple-rnn-relu", "peephole-no-bias"],
)
def test_keras_recurrent_layers_and_their_options_decode_as_in_keras(layer, encoder, dataset):
    model = tagger_of(encoder, layer(), head="crf")
    draw_weights(model, seed=7)
    assert_decodes_as_keras(model, encoder, dataset)


def test_mean_letter_trigrams_decode_as_in_keras(encoder, dataset):
    trigrams = keras.Input(shape=(None, encoder.max_trigrams), dtype="int32", name="trigrams")
    vectors = custom_layers.TrigramEmbedding(encoder.trigram_vocabulary_size, 8, combiner="mean")(trigrams)
    states = keras.layers.Bidirectional(keras.layers.GRU(6, return_sequences=True))(vectors)
    model = keras.Model({"trigrams": trigrams}, model_parts.tag_head(states, encoder.tags, "crf"))
    draw_weights(model, seed=11)
    assert_decodes_as_keras(model, encoder, dataset)


def test_the_onnx_viterbi_finds_the_paths_crf_decode_finds():
    # Random transitions, every length from one word, rows of every length and an empty one.
    model, crf = random_crf_tagger()
    session = onnx_session(model)
    rng = np.random.default_rng(0)
    for length in (1, 2, 6):
        ids = rng.integers(1, 30, size=(6, length)).astype("int32")
        for row, size in enumerate([length, 0, *rng.integers(1, length + 1, size=4)]):
            ids[row, size:] = 0
        expected = crf.decode(model.predict_on_batch({"words": ids}), ids != 0)
        [got] = session.run(["tag_ids"], {"words": ids})
        np.testing.assert_array_equal(got, np.asarray(expected))


def unmasked_tagger(encoder):
    """Word vectors without a padding mask: Keras would run the LSTM over the padding too."""
    words = keras.Input(shape=(None,), dtype="int32", name="words")
    vectors = keras.layers.Embedding(encoder.word_vocabulary_size, 8, mask_zero=False)(words)
    states = keras.layers.LSTM(6, return_sequences=True)(vectors)
    return keras.Model({"words": words}, keras.layers.Dense(len(encoder.tags))(states))


@pytest.mark.parametrize(
    ("build", "reason"),
    [
        (lambda encoder: jordan.build_model(encoder, **TINY), "JordanRNN"),
        (
            lambda encoder: tagger_of(encoder, custom_layers.PeepholeLSTM(6, return_sequences=True, peephole="full")),
            "full-matrix peephole",
        ),
        (
            lambda encoder: tagger_of(
                encoder, keras.layers.LSTM(6, return_sequences=True, recurrent_activation="hard_sigmoid")
            ),
            "activations",
        ),
        (
            lambda encoder: tagger_of(
                encoder, keras.layers.Bidirectional(keras.layers.GRU(6, return_sequences=True), merge_mode="sum")
            ),
            "merge_mode",
        ),
        (unmasked_tagger, "mask_zero=False"),
    ],
    ids=["jordan", "full-peephole", "hard-sigmoid", "merge-sum", "unmasked-embedding"],
)
def test_layers_without_an_onnx_form_are_refused_with_the_reason(build, reason, encoder):
    model = build(encoder)
    with pytest.raises(onnx_graph.Unsupported, match=reason):
        onnx_graph.decoded_tagger_onnx(model, model_description.model_input_features(model))
