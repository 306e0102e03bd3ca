"""Tagging: best tag ids for batches, tags and intents for a split, words and slots for raw sentences.

    tag_sentences(model, encoder, ["leave taipei on november 2nd"])
    # [{"words": ["leave", "taipei", "on", "november", "2nd"],
    #   "tags": ["O", "B-fromloc.city_name", "O", "B-depart_date.month_name", "B-depart_date.day_number"],
    #   "slots": {"fromloc.city_name": "taipei", ...},
    #   "intent": "atis_flight", "intent_confidence": 0.998}]     # the last two only with an intent head

A softmax head gives each word its most likely tag; a CRF head decodes the
whole sentence (Viterbi) inside one compiled inference model. The intent is
the most likely one, its confidence the softmax probability the model gives it.
"""

import dataclasses
import unicodedata
import weakref

import keras
import numpy as np

import data
from data.batching import DEFAULT_BUCKETS, encode_split, make_batches
from recipes.model import scoring
from recipes.model.parts import crf_layer, has_intent, model_input_features


class _CRFDecoder(keras.Model):
    """Inference only: the tagger's emissions decoded by its CRF (Viterbi), so
    that Keras compiles the whole of it like any `predict_on_batch`; with an
    intent head, the intent's probabilities beside the tag ids."""

    def __init__(self, tagger, crf):
        super().__init__(name="crf_decoder")
        self.tagger, self.crf = tagger, crf

    def call(self, inputs):
        features, weights = inputs
        outputs = self.tagger(features)
        if isinstance(outputs, dict):
            tags = self.crf.decode(outputs["tags"], keras.ops.greater(weights, 0))
            return tags, keras.ops.softmax(outputs["intent"], axis=-1)
        return self.crf.decode(outputs, keras.ops.greater(weights, 0))


_decoders = weakref.WeakKeyDictionary()


def _softmax(logits):
    shifted = np.exp(logits - logits.max(axis=-1, keepdims=True))
    return shifted / shifted.sum(axis=-1, keepdims=True)


class KerasEngine:
    """A Keras tagger as `predict_batches` runs it, one batch at a time.

    Every engine (this one, `recipes.exporting.decoded.OnnxEngine`) has
    `features` (the batch inputs it reads), `has_intent`, `fill` (how a
    bucket's last, smaller batch is filled: `data.batching.make_batches`'s
    `fill`), and `predict_batch(batch)`, which returns the best tag ids
    (batch, time) and the intent probabilities (batch, intents), or None
    without an intent head. Everything around that call (encoding, batching,
    decoding) is shared.
    """

    # A compiled backend compiles every batch shape once: up to a power of two, a few shapes serve any batch.
    fill = "power_of_two"

    def __init__(self, model):
        self.model = model
        self.features = model_input_features(model)
        self.has_intent = has_intent(model)
        self.crf = crf_layer(model)
        if self.crf is not None and model not in _decoders:
            _decoders[model] = _CRFDecoder(model, self.crf)

    def predict_batch(self, batch):
        if self.crf is None:
            outputs = self.model.predict_on_batch(batch.inputs)
            if not self.has_intent:
                return np.argmax(outputs, axis=-1), None
            return np.argmax(outputs["tags"], axis=-1), _softmax(np.asarray(outputs["intent"]))
        outputs = _decoders[self.model].predict_on_batch((batch.inputs, batch.weights))
        if not self.has_intent:
            return np.asarray(outputs), None
        return np.asarray(outputs[0]), np.asarray(outputs[1])


def engine_of(model):
    """`model` itself when it is an engine (it has `predict_batch`), else a `KerasEngine` over the Keras model."""
    return model if hasattr(model, "predict_batch") else KerasEngine(model)


def predict_batches(model, batches):
    """Best tag ids per sentence for a list of `Batch`, keyed by sentence index,
    and the intent probabilities per sentence (None without an intent head).

    `model` is a Keras tagger or an engine (see `KerasEngine`)."""
    engine = engine_of(model)
    tag_ids, intent_probabilities = {}, {} if engine.has_intent else None
    for batch in batches:
        lengths = batch.weights.sum(axis=1).astype(int)
        best, intents = engine.predict_batch(batch)
        for row, index in enumerate(batch.indices):
            tag_ids[int(index)] = best[row, : lengths[row]]
            if engine.has_intent:
                intent_probabilities[int(index)] = intents[row]
    return tag_ids, intent_probabilities


def predict_tag_ids(model, batches):
    """Best tag ids per sentence for a list of `Batch`, keyed by sentence index."""
    return predict_batches(model, batches)[0]


@dataclasses.dataclass
class Predictions:
    """A split's predictions, in corpus order: tag strings per sentence, and with
    an intent head the intent strings and their probabilities (else None)."""

    tags: list
    intents: list | None = None
    intent_confidences: list | None = None


def predict_frames(model, encoder, split, batch_size=64, buckets=DEFAULT_BUCKETS):
    """`Predictions` (tags, and intents where the model has an intent head) for a `data.Split`;
    `model` is a Keras tagger or an engine."""
    engine = engine_of(model)
    batches = make_batches(
        encode_split(encoder, split, with_tags=False),
        batch_size,
        features=engine.features,
        buckets=buckets,
        fill=engine.fill,
    )
    tag_ids, probabilities = predict_batches(engine, batches)
    tags = [encoder.decode_tags(tag_ids[index]) for index in range(len(split))]
    if probabilities is None:
        return Predictions(tags)
    best = [int(np.argmax(probabilities[index])) for index in range(len(split))]
    return Predictions(
        tags,
        [encoder.decode_intent(i) for i in best],
        [float(probabilities[index][i]) for index, i in enumerate(best)],
    )


def predict_split(model, encoder, split, batch_size=64, buckets=DEFAULT_BUCKETS):
    """Predicted tag strings for every sentence of a `data.Split`, in order."""
    return predict_frames(model, encoder, split, batch_size, buckets).tags


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
        if (
            core
            and core != token
            and encoder.encode_words([token])[0] == encoder.OTHER
            and encoder.encode_words([core])[0] != encoder.OTHER
        ):
            words.extend(part for part in (token[:core_start], core, token[core_end:]) if part)
        else:
            words.append(token)
    return words


def tag_sentences(model, encoder, sentences, batch_size=64, pretokenized=False, buckets=DEFAULT_BUCKETS):
    """Tags raw sentences: one dict per sentence with `words`, `tags` and `slots`,
    and `intent` and `intent_confidence` when the model has an intent head.

    Words are split as `split_words` splits them, or with `pretokenized` on
    white space only, punctuation never split off: a corpus's own words
    (`seq.in`) then keep exactly their gold tags' positions. `model` is a
    Keras tagger or an engine (`KerasEngine`, `exported.OnnxEngine`): only
    the call on each batch differs between them.
    """
    engine = engine_of(model)
    if pretokenized:
        words = [sentence.split() for sentence in sentences]
    else:
        words = [split_words(sentence, encoder) for sentence in sentences]
    nonempty = [i for i, w in enumerate(words) if w]
    split = data.Split([words[i] for i in nonempty], [["O"] * len(words[i]) for i in nonempty])
    predictions = predict_frames(engine, encoder, split, batch_size, buckets) if nonempty else Predictions([])
    tags = [[] for _ in words]
    for position, index in enumerate(nonempty):
        tags[index] = predictions.tags[position]
    results = [{"words": w, "tags": t, "slots": scoring.slot_values(w, t)} for w, t in zip(words, tags)]
    if engine.has_intent:
        # A sentence without words still gets the model's intent for an empty input: padding only.
        empty = [i for i, w in enumerate(words) if not w]
        for position, index in enumerate(nonempty):
            results[index]["intent"] = predictions.intents[position]
            results[index]["intent_confidence"] = predictions.intent_confidences[position]
        for index in empty:
            results[index]["intent"] = None
            results[index]["intent_confidence"] = None
    return results
