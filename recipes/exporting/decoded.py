"""The exported tagger: a model whose outputs are already decoded, and the description written beside it.

    decoded = DecodedTagger(model)             # ids in: {"tag_ids": ..., "intent_probabilities": ...} out
    described = description(model, encoder, "onnx", "onnx_graph")   # what export.json holds

`DecodedTagger` is what `model.export` converts (a SavedModel, or ONNX through
tf2onnx); the ONNX graph written from the layers computes the same
(`onnx_graph.py`). What an export folder holds, and its contract with the
code that reads it back, is `recipes.inference.export_folder`.
"""

import keras
import numpy as np
from keras import ops

from custom_layers.crf import top_index
from recipes.inference.export_folder import (
    ARTIFACTS,
    ENCODER_FILE,
    EXPORT_FORMAT,
    INTENT_OUTPUT,
    TAG_OUTPUT,
)
from recipes.model.description import crf_layer, has_intent, model_input_features


class _ViterbiForwardCell(keras.layers.Layer):
    """One word of the Viterbi forward pass: `delta_t[j] = max_i(delta_{t-1}[i] + A[i, j]) + E[t, j]`.

    The input of a step is the word's emissions with its mask flag as a last
    channel; a padded word keeps delta."""

    def __init__(self, crf, **kwargs):
        super().__init__(**kwargs)
        self.crf = crf
        self.state_size = crf.num_tags
        self.output_size = crf.num_tags

    def call(self, inputs, states):
        delta = states[0] if isinstance(states, (list, tuple)) else states  # delta_{t-1}: each tag's best score
        emission, valid = inputs[:, :-1], inputs[:, -1:] > 0.5
        transitions = self.crf.transition_scores()[0]
        best = ops.max(delta[:, :, None] + transitions[None, :, :], axis=1) + emission
        delta = ops.where(valid, best, delta)
        return delta, [delta]


class _ViterbiBackwardCell(keras.layers.Layer):
    """One word of the walk back: `y_{t-1} = argmax_i(delta_{t-1}[i] + A[i, y_t])`, a padded word keeping its tag.

    The tag travels as a float state (exact for any tag count below 2**24),
    since an RNN's states are floats."""

    def __init__(self, crf, **kwargs):
        super().__init__(**kwargs)
        self.crf = crf
        self.state_size = 1
        self.output_size = 1

    def call(self, inputs, states):
        tag = states[0] if isinstance(states, (list, tuple)) else states
        tag = ops.cast(tag[:, 0], "int32")  # tag of the next word, y_t
        previous_delta, valid = inputs[:, :-1], inputs[:, -1:] > 0.5
        into = ops.transpose(self.crf.transition_scores()[0])  # into[j] = A[:, j], scores of moving to j
        best = top_index(previous_delta + ops.take(into, tag, axis=0))
        previous_tag = ops.cast(ops.where(valid[:, 0], best, tag), "float32")[:, None]
        return previous_tag, [previous_tag]


class DecodedTagger(keras.Model):
    """Inference only: a tagger's ids in, decoded tag ids (and intent probabilities) out.

    A softmax head gives each word its best tag. A CRF head is decoded by
    Viterbi as `CRF.decode` does, but with its two loops run by
    `keras.layers.RNN` instead of `ops.scan`: under the TensorFlow backend
    `ops.scan` keeps its carry in a `TensorArray` that tf2onnx cannot turn
    into an ONNX loop, while the RNN's plain loop state converts like any LSTM.
    Each pass gets one step past the end, a padded one, so a batch of one-word
    sentences still gives the RNN a step to run.
    """

    def __init__(self, tagger, **kwargs):
        super().__init__(name="decoded_tagger", **kwargs)
        self.tagger = tagger
        self.crf = crf_layer(tagger)
        self.features = model_input_features(tagger)
        self.joint = has_intent(tagger)
        if self.crf is not None:
            self.forward = keras.layers.RNN(
                _ViterbiForwardCell(self.crf), return_sequences=True, return_state=True, name="viterbi_forward"
            )
            self.backward = keras.layers.RNN(
                _ViterbiBackwardCell(self.crf), return_sequences=True, go_backwards=True, name="viterbi_backward"
            )

    def mask(self, inputs):
        """Real words: a word id that is not 0, or a word with any trigram id that is not 0
        (every real word has at least one: `data.Encoder.encode_trigrams`)."""
        if "words" in inputs:
            return ops.not_equal(inputs["words"], 0)
        return ops.any(ops.not_equal(inputs["trigrams"], 0), axis=-1)

    def call(self, inputs):
        inputs = {name: inputs[name] for name in self.features}
        outputs = self.tagger(inputs, training=False)
        scores = outputs["tags"] if self.joint else outputs
        mask = self.mask(inputs)
        if self.crf is None:
            # Tag 0 at padding, as the CRF's decoding gives: padded steps carry no answer.
            tags = ops.where(mask, top_index(scores), 0)
        else:
            tags = self.viterbi(ops.cast(scores, "float32"), mask)
        result = {TAG_OUTPUT: tags}
        if self.joint:
            result[INTENT_OUTPUT] = ops.softmax(ops.cast(outputs["intent"], "float32"), axis=-1)
        return result

    def viterbi(self, emissions, mask):
        _, start, end = self.crf.transition_scores()
        valid = ops.cast(mask, "float32")[:, :, None]
        padded_step = ops.zeros_like(valid[:, :1])
        first_delta = start[None, :] + emissions[:, 0, :]
        # Words 2..n, then the padded step: deltas[:, k] is delta after word k + 1.
        words = ops.concatenate([emissions, valid], axis=-1)
        steps = ops.concatenate([words[:, 1:], ops.zeros_like(words[:, :1])], axis=1)
        deltas, last_delta = self.forward(steps, initial_state=[first_delta])
        last_tag = ops.cast(top_index(last_delta + end[None, :]), "float32")[:, None]
        # Entry k pairs delta_k with word k + 1's flag, and the last entry (padding) keeps the last tag:
        # walked backwards, entry k gives y_k.
        previous_deltas = ops.concatenate([first_delta[:, None, :], deltas[:, :-1]], axis=1)
        next_valid = ops.concatenate([valid[:, 1:], padded_step], axis=1)
        walked = self.backward(ops.concatenate([previous_deltas, next_valid], axis=-1), initial_state=[last_tag])
        path = ops.cast(ops.flip(walked[:, :, 0], axis=1), "int32")
        return ops.where(mask, path, ops.zeros_like(path))


def input_signature(model):
    """`keras.InputSpec`s of a tagger's inputs, batch and time left free (None)."""
    return {
        name: keras.InputSpec(shape=tuple(model.input[name].shape), dtype="int32", name=name)
        for name in model_input_features(model)
    }


def sample_inputs(model):
    """A batch of one sentence of two words, enough to build the decoded model before it is exported."""
    return {name: np.ones((1, 2, *spec.shape[2:]), dtype="int32") for name, spec in input_signature(model).items()}


def description(model, encoder, artifact_format, converter=None):
    """The contents of export.json for a tagger exported as `artifact_format` by `converter`
    ("onnx_graph", "tf2onnx" or "keras", what `writer.write_artifact` returns)."""
    crf = crf_layer(model)
    outputs = [{"name": TAG_OUTPUT, "dtype": "int32", "shape": [None, None]}]
    if has_intent(model):
        outputs.append({"name": INTENT_OUTPUT, "dtype": "float32", "shape": [None, len(encoder.intents)]})
    return {
        "format": EXPORT_FORMAT,
        "artifact_format": artifact_format,
        "artifact": ARTIFACTS[artifact_format],
        "converter": converter,
        "encoder": ENCODER_FILE,
        "model": model.name,
        "keras_version": keras.__version__,
        "tags": list(encoder.tags),
        "intents": list(encoder.intents) if has_intent(model) else None,
        "inputs": [
            {"name": spec.name, "dtype": spec.dtype, "shape": list(spec.shape)}
            for spec in input_signature(model).values()
        ],
        "outputs": outputs,
        "decoding": "crf_viterbi" if crf is not None else "argmax",
        "intent_decoding": "softmax" if has_intent(model) else None,
        "mask": "derived from the inputs: a word is real where its word id (or any of its trigram ids) is not 0",
        "padding": "id 0 in every input; tag_ids are 0 at padded words",
    }
