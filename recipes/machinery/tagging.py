"""Tagging: best tag ids for batches, tag strings for a split, words and slots for raw sentences.

    tag_sentences(model, encoder, ["leave taipei on november 2nd"])
    # [{"words": ["leave", "taipei", "on", "november", "2nd"],
    #   "tags": ["O", "B-fromloc.city_name", "O", "B-depart_date.month_name", "B-depart_date.day_number"],
    #   "slots": {"fromloc.city_name": "taipei", ...}}]

A softmax head gives each word its most likely tag; a CRF head decodes the
whole sentence (Viterbi) inside one compiled inference model.
"""

import unicodedata
import weakref

import keras
import numpy as np

import data
from data.batching import DEFAULT_BUCKETS, encode_split, make_batches
from recipes import scoring
from recipes.machinery.model_parts import crf_layer, model_input_features


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
        encode_split(encoder, split, with_tags=False),
        batch_size,
        features=features,
        buckets=buckets,
        fill="power_of_two",
    )
    ids = predict_tag_ids(model, batches)
    return [encoder.decode_tags(ids[index]) for index in range(len(split))]


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


def tag_sentences(model, encoder, sentences, batch_size=64):
    """Tags raw sentences: one dict per sentence with `words` (see `split_words`), `tags` and `slots`."""
    words = [split_words(sentence, encoder) for sentence in sentences]
    results = [None] * len(words)
    nonempty = [i for i, w in enumerate(words) if w]
    split = data.Split([words[i] for i in nonempty], [["O"] * len(words[i]) for i in nonempty])
    tags = predict_split(model, encoder, split, batch_size) if nonempty else []
    for position, index in enumerate(nonempty):
        results[index] = tags[position]
    return [{"words": w, "tags": t or [], "slots": scoring.slot_values(w, t or [])} for w, t in zip(words, results)]
