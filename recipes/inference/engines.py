"""Engines: what runs a tagger on one batch of ids and returns tag ids and intent probabilities.

    engine = KerasEngine(model)                       # a Keras tagger (model.keras, or a model in training)
    engine = OnnxEngine.load(folder, described)      # an ONNX export (`recipes.inference.export_folder`)
    tag_ids, intent_probabilities = predict_batches(engine, batches)

Every engine has `features` (the batch inputs it reads), `has_intent`,
`fill` (how a bucket's last, smaller batch is filled: `data.batching.make_batches`'s
`fill`) and `predict_batch(batch)`, which returns the best tag ids (batch,
time) and the intent probabilities (batch, intents), or None without an
intent head. Everything around that call (encoding, batching, decoding ids
to strings) is the same for every engine (`recipes.inference.tagger`).

A softmax head gives each word its most likely tag; a CRF head decodes the
whole sentence (Viterbi, `custom_layers.CRF.decode`) inside one compiled
inference model. The intent is the most likely one, its confidence the
softmax probability the model gives it.
"""

import keras
import numpy as np

from recipes.model.description import ModelDescription, crf_layer


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


def _softmax(logits):
    shifted = np.exp(logits - logits.max(axis=-1, keepdims=True))
    return shifted / shifted.sum(axis=-1, keepdims=True)


class KerasEngine:
    """A Keras tagger, one batch at a time. Make one per model and keep it: the
    CRF's decoding model it builds compiles once per batch shape."""

    name = "keras"
    # A compiled backend compiles every batch shape once: up to a power of two, a few shapes serve any batch.
    fill = "power_of_two"

    def __init__(self, model):
        self.model = model
        self.description = ModelDescription.of(model)
        self.features = self.description.features
        self.has_intent = self.description.intent_head
        crf = crf_layer(model)
        self._decoder = _CRFDecoder(model, crf) if crf is not None else None

    def predict_batch(self, batch):
        if self._decoder is None:
            outputs = self.model.predict_on_batch(batch.inputs)
            if not self.has_intent:
                return np.argmax(outputs, axis=-1), None
            return np.argmax(outputs["tags"], axis=-1), _softmax(np.asarray(outputs["intent"]))
        outputs = self._decoder.predict_on_batch((batch.inputs, batch.weights))
        if not self.has_intent:
            return np.asarray(outputs), None
        return np.asarray(outputs[0]), np.asarray(outputs[1])


def predict_batches(engine, batches):
    """Best tag ids per sentence for a list of `Batch`, keyed by sentence index,
    and the intent probabilities per sentence (None without an intent head)."""
    tag_ids, intent_probabilities = {}, {} if engine.has_intent else None
    for batch in batches:
        lengths = batch.weights.sum(axis=1).astype(int)
        best, intents = engine.predict_batch(batch)
        for row, index in enumerate(batch.indices):
            tag_ids[int(index)] = best[row, : lengths[row]]
            if engine.has_intent:
                intent_probabilities[int(index)] = intents[row]
    return tag_ids, intent_probabilities
