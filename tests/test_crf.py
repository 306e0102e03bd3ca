"""Tests of the linear-chain CRF head against brute-force enumeration of tag paths."""

import itertools

import keras
import numpy as np
import pytest
from keras import ops

from custom_layers.crf import CRF, FORBIDDEN_TRANSITION_SCORE, bio_transition_mask

NUM_TAGS = 3
TAGS = ["O", "B-city", "I-city"]
RNG = np.random.default_rng(1234)
TRANSITIONS = RNG.normal(size=(NUM_TAGS, NUM_TAGS)).astype("float32")
START = RNG.normal(size=NUM_TAGS).astype("float32")
END = RNG.normal(size=NUM_TAGS).astype("float32")
EMISSIONS = RNG.normal(size=(2, 4, NUM_TAGS)).astype("float32")
LENGTHS = [4, 2]
MASK = np.arange(4)[None, :] < np.array(LENGTHS)[:, None]


def make_crf(constrained=False):
    """An emissions-only CRF with the fixed transition weights above."""
    kwargs = {}
    if constrained:
        allowed, allowed_start = bio_transition_mask(TAGS)
        kwargs = {"allowed_transitions": allowed, "allowed_start_transitions": allowed_start}
    crf = CRF(NUM_TAGS, use_kernel=False, **kwargs)
    crf.build((None, None, NUM_TAGS))
    crf.transitions.assign(TRANSITIONS)
    crf.start_transitions.assign(START)
    crf.end_transitions.assign(END)
    return crf


def path_score(emissions, path, constrained):
    """s(y) written out for one sentence, with -1e4 per forbidden transition."""
    transitions, start = TRANSITIONS.astype("float64"), START.astype("float64")
    if constrained:
        allowed, allowed_start = bio_transition_mask(TAGS)
        transitions = transitions + np.where(allowed, 0.0, FORBIDDEN_TRANSITION_SCORE)
        start = start + np.where(allowed_start, 0.0, FORBIDDEN_TRANSITION_SCORE)
    score = start[path[0]] + END[path[-1]]
    score += sum(emissions[t, tag] for t, tag in enumerate(path))
    score += sum(transitions[path[t - 1], path[t]] for t in range(1, len(path)))
    return score


def brute_force(emissions, length, constrained):
    """(log Z, best path) of one sentence by enumerating all tag paths."""
    paths = list(itertools.product(range(NUM_TAGS), repeat=length))
    scores = np.array([path_score(emissions, path, constrained) for path in paths])
    top = scores.max()
    return top + np.log(np.exp(scores - top).sum()), list(paths[int(np.argmax(scores))])


def to_numpy(x):
    return ops.convert_to_numpy(x)


def test_bio_transition_mask_forbids_inside_tags_without_their_begin():
    allowed, allowed_start = bio_transition_mask(["O", "B-a", "I-a", "B-b", "I-b"])
    assert allowed == [
        [True, True, False, True, False],  # O -> I-x forbidden
        [True, True, True, True, False],  # B-a -> I-b forbidden
        [True, True, True, True, False],  # I-a -> I-b forbidden
        [True, True, False, True, True],
        [True, True, False, True, True],
    ]
    assert allowed_start == [True, True, False, True, False]


@pytest.mark.parametrize("constrained", [False, True])
def test_log_partition_equals_logsumexp_over_all_paths(constrained):
    crf = make_crf(constrained)
    expected = [brute_force(EMISSIONS[b], LENGTHS[b], constrained)[0] for b in range(2)]
    np.testing.assert_allclose(to_numpy(crf.log_partition(EMISSIONS, MASK)), expected, rtol=1e-5)


@pytest.mark.parametrize("constrained", [False, True])
def test_log_likelihood_of_a_path_matches_enumeration(constrained):
    crf = make_crf(constrained)
    tags = np.array([[0, 1, 2, 1], [1, 2, 0, 0]])  # row 2 pads after two words
    expected_scores = [
        path_score(EMISSIONS[0], [0, 1, 2, 1], constrained),
        path_score(EMISSIONS[1], [1, 2], constrained),
    ]
    expected_log_z = [brute_force(EMISSIONS[b], LENGTHS[b], constrained)[0] for b in range(2)]
    np.testing.assert_allclose(to_numpy(crf.sequence_score(EMISSIONS, tags, MASK)), expected_scores, rtol=1e-5)
    np.testing.assert_allclose(
        to_numpy(crf.log_likelihood(EMISSIONS, tags, MASK)),
        np.array(expected_scores) - np.array(expected_log_z),
        rtol=1e-5,
        atol=1e-5,
    )


@pytest.mark.parametrize("constrained", [False, True])
def test_decode_returns_the_best_path_of_the_enumeration(constrained):
    crf = make_crf(constrained)
    expected = np.zeros((2, 4), dtype="int32")
    for b, length in enumerate(LENGTHS):
        expected[b, :length] = brute_force(EMISSIONS[b], length, constrained)[1]
    decoded = to_numpy(crf.decode(EMISSIONS, MASK))
    assert decoded.dtype == np.int32
    np.testing.assert_array_equal(decoded, expected)


def test_constraints_change_the_decoded_path_to_a_legal_one():
    # Emissions that favour "O I-city": the unconstrained CRF takes it, BIO does not.
    emissions = np.array([[[3.0, 1.0, 0.0], [0.0, 0.0, 3.0]]], dtype="float32")
    free = CRF(NUM_TAGS, use_kernel=False)
    allowed, allowed_start = bio_transition_mask(TAGS)
    legal = CRF(
        NUM_TAGS,
        use_kernel=False,
        allowed_transitions=allowed,
        allowed_start_transitions=allowed_start,
    )
    for crf in (free, legal):
        crf.build((None, None, NUM_TAGS))  # zero transitions
    np.testing.assert_array_equal(to_numpy(free.decode(emissions)), [[0, 2]])
    np.testing.assert_array_equal(to_numpy(legal.decode(emissions)), [[1, 2]])


def test_transition_scores_are_the_weights_with_forbidden_ones_penalised():
    allowed, allowed_start = bio_transition_mask(TAGS)
    allowed_end = [True, False, True]
    crf = CRF(
        NUM_TAGS,
        use_kernel=False,
        allowed_transitions=allowed,
        allowed_start_transitions=allowed_start,
        allowed_end_transitions=allowed_end,
    )
    crf.build((None, None, NUM_TAGS))
    crf.transitions.assign(TRANSITIONS)
    crf.start_transitions.assign(START)
    crf.end_transitions.assign(END)
    transitions, start, end = (to_numpy(scores) for scores in crf.transition_scores())
    assert transitions.dtype == start.dtype == end.dtype == np.float32
    penalty = np.float32(FORBIDDEN_TRANSITION_SCORE)
    np.testing.assert_array_equal(transitions, np.where(allowed, TRANSITIONS, TRANSITIONS + penalty))
    np.testing.assert_array_equal(start, np.where(allowed_start, START, START + penalty))
    np.testing.assert_array_equal(end, np.where(allowed_end, END, END + penalty))
    # Without constraints: the weights as they are.
    free = [to_numpy(scores) for scores in make_crf().transition_scores()]
    for got, weight in zip(free, (TRANSITIONS, START, END)):
        np.testing.assert_array_equal(got, weight)


def test_padded_positions_change_neither_decode_nor_loss():
    crf = make_crf()
    noisy = EMISSIONS.copy()
    noisy[1, 2:] = 50.0  # large scores at row 2's padding
    labels = np.array([[0, 1, 2, 1], [1, 2, -1, -1]])
    np.testing.assert_array_equal(to_numpy(crf.decode(noisy, MASK)), to_numpy(crf.decode(EMISSIONS, MASK)))
    np.testing.assert_allclose(to_numpy(crf.loss(labels, noisy)), to_numpy(crf.loss(labels, EMISSIONS)), rtol=1e-6)
    assert to_numpy(crf.decode(noisy, MASK))[1, 2:].tolist() == [0, 0]


def test_sentence_of_one_word_uses_start_emission_and_end():
    crf = make_crf()
    one_word = EMISSIONS[:, :1]
    scores = START[None, :] + one_word[:, 0] + END[None, :]
    np.testing.assert_allclose(to_numpy(crf.log_partition(one_word)), np.log(np.exp(scores).sum(axis=1)), rtol=1e-5)
    np.testing.assert_array_equal(to_numpy(crf.decode(one_word))[:, 0], scores.argmax(axis=1))


def test_loss_is_the_negative_log_likelihood_with_minus_one_as_padding():
    crf = make_crf()
    labels = np.array([[0, 1, 2, 1], [1, 2, -1, -1]])
    expected = -to_numpy(crf.log_likelihood(EMISSIONS, np.maximum(labels, 0), MASK))
    np.testing.assert_allclose(to_numpy(crf.loss(labels, EMISSIONS)), expected, rtol=1e-6)
    # Keras hands labels over as floats, sometimes with a trailing axis.
    np.testing.assert_allclose(to_numpy(crf.loss(labels[..., None].astype("float32"), EMISSIONS)), expected, rtol=1e-6)


def test_fully_padded_row_has_zero_loss():
    crf = make_crf(constrained=True)
    labels = np.array([[0, 1, 2, 1], [-1, -1, -1, -1]])
    losses = to_numpy(crf.loss(labels, EMISSIONS))
    assert losses[1] == 0.0
    assert np.isfinite(losses).all()
    assert to_numpy(crf.decode(EMISSIONS, labels >= 0))[1].tolist() == [0, 0, 0, 0]


def test_gold_tags_that_break_bio_give_a_finite_loss():
    crf = make_crf(constrained=True)
    labels = np.array([[0, 2, 2, -1], [2, 1, -1, -1]])  # "O I-city", and I-city first
    losses = to_numpy(crf.loss(labels, EMISSIONS))
    expected = [
        brute_force(EMISSIONS[0], 3, True)[0] - path_score(EMISSIONS[0], [0, 2, 2], True),
        brute_force(EMISSIONS[1], 2, True)[0] - path_score(EMISSIONS[1], [2, 1], True),
    ]
    assert np.isfinite(losses).all()
    np.testing.assert_allclose(losses, expected, rtol=1e-5)
    assert losses.min() > 0.9 * -FORBIDDEN_TRANSITION_SCORE


def toy_task(num_sentences=48, max_length=6, seed=0):
    """One-hot words tagged like BIO slots: word 1 begins a slot (tag 1), word 3
    continues one (tag 2) only right after a slot tag, and is O (tag 0) otherwise.
    Only the transitions can tell the two meanings of word 3 apart."""
    rng = np.random.default_rng(seed)
    words = rng.integers(0, 4, size=(num_sentences, max_length))
    lengths = rng.integers(1, max_length + 1, size=num_sentences)
    labels = np.zeros((num_sentences, max_length), dtype="int64")
    for t in range(max_length):
        in_slot = labels[:, t - 1] > 0 if t > 0 else np.zeros(num_sentences, bool)
        labels[:, t] = np.where(words[:, t] == 1, 1, np.where((words[:, t] == 3) & in_slot, 2, 0))
    features = np.eye(4, dtype="float32")[words]
    padding = np.arange(max_length)[None, :] >= lengths[:, None]
    features[padding] = 0.0
    labels[padding] = -1
    labels[0] = -1  # one fully padded sentence
    features[0] = 0.0
    return features, labels


def build_tagger(crf, num_features=4):
    inputs = keras.Input(shape=(None, num_features))
    hidden = keras.layers.Dense(8, activation="tanh")(inputs)
    return keras.Model(inputs, crf(hidden))


def test_training_with_crf_loss_updates_transitions_and_lowers_the_loss():
    features, labels = toy_task()
    crf = CRF(NUM_TAGS, name="crf")
    model = build_tagger(crf)
    model.compile(optimizer=keras.optimizers.Adam(0.05), loss=crf.loss)
    initial = [to_numpy(weight).copy() for weight in (crf.transitions, crf.start_transitions, crf.end_transitions)]
    history = model.fit(features, labels, epochs=6, batch_size=16, verbose=0)
    losses = history.history["loss"]
    assert np.isfinite(losses).all()
    assert losses[-1] < 0.5 * losses[0]
    for before, weight in zip(initial, (crf.transitions, crf.start_transitions, crf.end_transitions)):
        assert np.abs(to_numpy(weight) - before).max() > 1e-2
    # Word 3 is tag 2 or tag 0 depending on the previous tag: right only through
    # the learned transitions.
    predicted = to_numpy(crf.decode(model.predict(features, verbose=0), labels >= 0))
    valid = labels >= 0
    np.testing.assert_array_equal(predicted[valid], labels[valid])


def test_compiled_loss_is_the_mean_over_sentences_and_ignores_the_upstream_mask():
    # An Embedding with mask_zero feeds a mask into the CRF; the CRF must not pass
    # it on, or Keras would weight the per-sentence losses by a per-word mask.
    word_ids = np.array([[3, 1, 2, 0], [2, 2, 0, 0], [1, 0, 0, 0]])
    labels = np.array([[1, 0, 2, -1], [2, 0, -1, -1], [0, -1, -1, -1]])
    inputs = keras.Input(shape=(None,), dtype="int32")
    embedded = keras.layers.Embedding(5, 6, mask_zero=True)(inputs)
    crf = CRF(NUM_TAGS, transitions_initializer="random_normal")
    model = keras.Model(inputs, crf(embedded))
    model.compile(loss=crf.loss)
    expected = float(np.mean(to_numpy(crf.loss(labels, model.predict(word_ids, verbose=0)))))
    evaluated = model.evaluate(word_ids, labels, batch_size=3, verbose=0)
    np.testing.assert_allclose(evaluated, expected, rtol=1e-5)


def test_trains_on_padded_batches_whose_length_changes():
    # Padded tf.data batches have an unknown number of words when traced
    # (TensorFlow backend); under JAX every length compiles its own step.
    import tensorflow as tf

    features, labels = toy_task(num_sentences=16)

    def sentences():
        for sentence_features, sentence_labels in zip(features, labels):
            length = max(int((sentence_labels >= 0).sum()), 1)
            yield sentence_features[:length], sentence_labels[:length]

    dataset = tf.data.Dataset.from_generator(
        sentences,
        output_signature=(
            tf.TensorSpec((None, 4), tf.float32),
            tf.TensorSpec((None,), tf.int64),
        ),
    )
    dataset = dataset.padded_batch(4, padding_values=(0.0, tf.constant(-1, tf.int64)))
    dataset = dataset.apply(tf.data.experimental.assert_cardinality(4))
    crf = CRF(NUM_TAGS)
    model = build_tagger(crf)
    model.compile(optimizer=keras.optimizers.Adam(0.05), loss=crf.loss)
    history = model.fit(dataset, epochs=2, shuffle=False, verbose=0)
    assert np.isfinite(history.history["loss"]).all()
    assert history.history["loss"][-1] < history.history["loss"][0]


def test_model_with_crf_saves_and_loads_in_safe_mode(tmp_path):
    allowed, allowed_start = bio_transition_mask(TAGS)
    crf = CRF(
        NUM_TAGS,
        allowed_transitions=allowed,
        allowed_start_transitions=allowed_start,
        transitions_initializer="random_normal",
        name="crf",
    )
    model = build_tagger(crf)
    features, labels = toy_task(num_sentences=6)
    path = tmp_path / "tagger.keras"
    model.save(path)
    loaded = keras.saving.load_model(path, safe_mode=True)
    loaded_crf = loaded.get_layer("crf")
    assert loaded_crf.allowed_transitions == allowed
    emissions = model.predict(features, verbose=0)
    np.testing.assert_array_equal(loaded.predict(features, verbose=0), emissions)
    np.testing.assert_array_equal(to_numpy(loaded_crf.transitions), to_numpy(crf.transitions))
    np.testing.assert_array_equal(
        to_numpy(loaded_crf.decode(emissions, labels >= 0)), to_numpy(crf.decode(emissions, labels >= 0))
    )


def test_model_compiled_with_crf_loss_loads_with_compile_false(tmp_path):
    features, labels = toy_task(num_sentences=6)
    crf = CRF(NUM_TAGS, name="crf")
    model = build_tagger(crf)
    model.compile(optimizer="adam", loss=crf.loss)
    model.fit(features, labels, epochs=1, verbose=0)
    path = tmp_path / "compiled.keras"
    model.save(path)
    # The bound method is saved as an entry Keras cannot rebuild.
    with pytest.raises(TypeError):
        keras.saving.load_model(path, safe_mode=True)
    loaded = keras.saving.load_model(path, safe_mode=True, compile=False)
    np.testing.assert_array_equal(loaded.predict(features, verbose=0), model.predict(features, verbose=0))
    # An uncompiled view over the same layers saves a file that loads either way.
    view_path = tmp_path / "view.keras"
    keras.Model(model.inputs, model.outputs).save(view_path)
    view = keras.saving.load_model(view_path, safe_mode=True)
    np.testing.assert_array_equal(view.predict(features, verbose=0), model.predict(features, verbose=0))


def test_kernel_projects_features_to_emissions():
    crf = CRF(NUM_TAGS, bias_initializer="random_normal")
    features = RNG.normal(size=(2, 3, 5)).astype("float32")
    emissions = to_numpy(crf(features))
    expected = features @ to_numpy(crf.kernel) + to_numpy(crf.bias)
    np.testing.assert_allclose(emissions, expected, rtol=1e-5, atol=1e-6)
    assert [weight.path.split("/")[-1] for weight in crf.weights] == [
        "kernel",
        "bias",
        "transitions",
        "start_transitions",
        "end_transitions",
    ]


def test_config_round_trip_keeps_every_argument():
    allowed, allowed_start = bio_transition_mask(TAGS)
    crf = CRF(
        NUM_TAGS,
        use_kernel=False,
        allowed_transitions=np.array(allowed),
        allowed_start_transitions=allowed_start,
        allowed_end_transitions=[True, True, False],
        transitions_regularizer="l2",
        name="tags",
    )
    config = crf.get_config()
    assert config["allowed_transitions"] == allowed  # plain lists, JSON-ready
    restored = CRF.from_config(config)
    assert restored.get_config() == config


@pytest.mark.parametrize(
    "kwargs, shown",
    [
        ({"num_tags": 0}, "got 0"),
        ({"num_tags": "9"}, "got '9'"),
        ({"num_tags": 3, "allowed_transitions": [[True] * 3] * 2}, "allowed_transitions"),
        ({"num_tags": 3, "allowed_start_transitions": [True, "yes", False]}, "'yes'"),
    ],
)
def test_bad_arguments_raise_value_error_showing_the_value(kwargs, shown):
    with pytest.raises(ValueError, match=shown):
        CRF(**kwargs)


def test_decoding_before_the_weights_exist_says_so():
    with pytest.raises(ValueError, match="no weights yet"):
        CRF(NUM_TAGS).decode(EMISSIONS)
    with pytest.raises(ValueError, match="no weights yet"):
        CRF(NUM_TAGS).transition_scores()


def test_emissions_only_crf_rejects_features_of_the_wrong_width():
    with pytest.raises(ValueError, match="num_tags=3"):
        CRF(NUM_TAGS, use_kernel=False)(np.zeros((1, 2, 5), dtype="float32"))
