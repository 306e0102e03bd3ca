"""The model parts every recipe shares: input encodings, tag and intent heads, the compile step.

A recipe's `build_model` reads

    inputs, x = encode_inputs(encoder, encoding, embedding_dim, window, dropout)
    for _ in range(depth):
        x = keras.layers.Bidirectional(keras.layers.LSTM(units, return_sequences=True))(x)
    outputs = output_heads(x, encoder, head, intent)
    model = keras.Model(inputs, outputs)

and the shared run compiles it with `compile_model`. With intents (the
encoder was fitted on data that has them, and `intent` is true) the model has
two outputs, `{"tags": (batch, words, tags), "intent": (batch, intents)}`, and
is trained on the slot loss plus `intent_weight` times the intent loss;
otherwise its one output is the tag scores.
"""

import keras
import numpy as np

from custom_layers import (
    CRF,
    AttentionPooling,
    ContextWindow,
    MeanPooling,
    OneHot,
    StepBroadcast,
    TrigramEmbedding,
    bio_transition_mask,
)
from data.batching import PAD_TAG
from recipes.config.errors import UsageError
from recipes.config.settings import ENCODINGS, HEADS, INTENT_POOLINGS, SHARED, intent_weight_for
from recipes.model.description import crf_layer, has_intent


def input_features(encoding):
    """Which batch inputs an encoding reads."""
    return {
        "onehot": ("words",),
        "embedding": ("words",),
        "trigram": ("trigrams",),
        "embedding+trigram": ("words", "trigrams"),
    }[encoding]


def encode_inputs(encoder, encoding=SHARED.encoding, embedding_dim=SHARED.embedding_dim, window=0, dropout=0.0):
    """Model inputs and the per-word feature sequence they become.

    Returns `(inputs, features)`: `inputs` is a dict of `keras.Input`
    (`"words"`: word ids (batch, time); `"trigrams"`: letter-trigram ids
    (batch, time, max_trigrams)) and `features` a masked (batch, time, dim) tensor.
    Id 0 is padding in both, so every layer downstream skips padded steps.
    """
    if encoding not in ENCODINGS:
        raise ValueError(
            f"Received an invalid value for argument encoding, expected one of {ENCODINGS}, got {encoding!r}."
        )
    inputs = {}
    parts = []
    if "words" in input_features(encoding):
        inputs["words"] = keras.Input(shape=(None,), dtype="int32", name="words")
        if encoding == "onehot":
            parts.append(OneHot(encoder.word_vocabulary_size, name="one_hot")(inputs["words"]))
        else:
            embed = keras.layers.Embedding(
                encoder.word_vocabulary_size, embedding_dim, mask_zero=True, name="word_vectors"
            )
            parts.append(embed(inputs["words"]))
    if "trigrams" in input_features(encoding):
        inputs["trigrams"] = keras.Input(shape=(None, encoder.max_trigrams), dtype="int32", name="trigrams")
        trigram_vectors = TrigramEmbedding(encoder.trigram_vocabulary_size, embedding_dim, name="trigram_vectors")
        parts.append(trigram_vectors(inputs["trigrams"]))
    features = parts[0] if len(parts) == 1 else keras.layers.Concatenate(name="word_features")(parts)
    if window:
        features = ContextWindow(window, name="context_window")(features)
    if dropout:
        features = keras.layers.Dropout(dropout, name="feature_dropout")(features)
    return inputs, features


def tag_head(features, tags, head=SHARED.head):
    """Scores of every tag at every word: logits (softmax head) or CRF emissions.

    `tags` are the tag names in id order (`encoder.tags`); the CRF head uses
    them to forbid transitions that BIO never makes (`O` -> `I-x`, `B-x` -> `I-y`).
    """
    if head == "softmax":
        return keras.layers.Dense(len(tags), name="tag_logits")(features)
    if head == "crf":
        allowed, allowed_start = bio_transition_mask(list(tags))
        crf = CRF(len(tags), allowed_transitions=allowed, allowed_start_transitions=allowed_start, name="crf")
        return crf(features)
    raise ValueError(f"Received an invalid value for argument head, expected one of {HEADS}, got {head!r}.")


def intent_head(states, intents, pooling=SHARED.intent_pooling):
    """Logits of every intent for the whole sentence, read from the per-word states.

    `pooling` says how the words become one sentence vector: `"attention"`
    (a learned weighting of the words, `custom_layers.AttentionPooling`) or
    `"mean"` (their average). Both skip padded steps.
    """
    if pooling == "attention":
        sentence = AttentionPooling(name="intent_pooling")(states)
    elif pooling == "mean":
        sentence = MeanPooling(name="intent_pooling")(states)
    else:
        raise ValueError(
            f"Received an invalid value for argument pooling, expected one of {INTENT_POOLINGS}, got {pooling!r}."
        )
    return keras.layers.Dense(len(intents), name="intent_logits")(sentence)


def output_heads(
    states,
    encoder,
    head=SHARED.head,
    intent=SHARED.intent,
    intent_pooling=SHARED.intent_pooling,
    intent_to_slots=SHARED.intent_to_slots,
):
    """The model's outputs: tag scores, and beside them the intent's logits.

    Without intents (`intent` false, or data without them: `encoder.intents`
    empty) this is `tag_head(states, encoder.tags, head)`. Otherwise a dict
    `{"tags": ..., "intent": ...}`; with `intent_to_slots` the tag head also
    reads the sentence's intent distribution at every word.
    """
    if not (intent and encoder.intents):
        return tag_head(states, encoder.tags, head)
    intent_logits = intent_head(states, encoder.intents, intent_pooling)
    if intent_to_slots:
        distribution = keras.layers.Softmax(name="intent_distribution")(intent_logits)
        per_word = StepBroadcast(name="intent_per_word")([distribution, states])
        states = keras.layers.Concatenate(name="states_and_intent")([states, per_word])
    return {"tags": tag_head(states, encoder.tags, head), "intent": intent_logits}


def set_word_vectors(model, vectors):
    """Starts the model's learned word vectors (the `word_vectors` layer) from
    `vectors` (one row per word id); rows of zeros keep the random start."""
    try:
        layer = model.get_layer("word_vectors")
    except ValueError:
        raise UsageError("--word-vectors needs --encoding embedding or embedding+trigram") from None
    current = keras.ops.convert_to_numpy(layer.embeddings)
    if current.shape != vectors.shape:
        raise UsageError(
            f"--word-vectors: the file's vectors have {vectors.shape[1]} numbers; pass --embedding-dim {vectors.shape[1]}"
        )
    known = np.any(vectors != 0, axis=1)
    current[known] = vectors[known]
    layer.embeddings.assign(current)


def compile_model(model, learning_rate=SHARED.learning_rate, intent_weight=SHARED.intent_weight):
    """Adam with gradient clipping and the loss that fits the model's heads.

    Padded steps carry the tag -1: the softmax loss ignores that class and
    averages over real words only; the CRF loss masks the same steps and sums
    over them. With an intent head the loss is the slot loss plus
    `intent_weight` (None: the tag head's default, `INTENT_WEIGHTS`) times the
    intent's cross-entropy (averaged over sentences; filler rows carry -1).
    """
    crf = crf_layer(model)
    if crf is not None:
        loss = crf.loss
    else:
        loss = keras.losses.SparseCategoricalCrossentropy(
            from_logits=True, ignore_class=PAD_TAG, reduction="mean_with_sample_weight"
        )
    loss_weights = None
    if has_intent(model):
        intent_loss = keras.losses.SparseCategoricalCrossentropy(
            from_logits=True, ignore_class=PAD_TAG, reduction="mean_with_sample_weight"
        )
        loss = {"tags": loss, "intent": intent_loss}
        weight = intent_weight_for("softmax" if crf is None else "crf", intent_weight)
        loss_weights = {"tags": 1.0, "intent": float(weight)}
    model.compile(optimizer=keras.optimizers.Adam(learning_rate, clipnorm=5.0), loss=loss, loss_weights=loss_weights)
    return model


def inference_view(model):
    """The same layers as an uncompiled model: `model.keras` then holds no
    optimizer state and no training loss (a CRF's loss is a bound method that
    Keras cannot rebuild), so `keras.saving.load_model` works with its defaults."""
    return keras.Model(model.input, model.output, name=model.name)
