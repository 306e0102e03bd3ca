"""Sentence-level layers for intent detection: attention or mean pooling over the
words, and a sentence vector repeated at every word.

    states = keras.layers.Bidirectional(keras.layers.LSTM(64, return_sequences=True))(features)
    sentence = AttentionPooling(name="sentence_vector")(states)       # (batch, 128)
    intent_logits = keras.layers.Dense(num_intents)(sentence)
    per_word = StepBroadcast()([keras.layers.Softmax()(intent_logits), states])   # (batch, words, num_intents)

Both read the padding mask, so padding added to a sentence changes neither the
sentence vector nor what each word receives.
"""

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="custom_layers")
class AttentionPooling(keras.layers.Layer):
    """A weighted sum of the steps of a sequence, the weights learned (additive attention).

    ```
    score[b, t]  = v . tanh(W x[b, t] + c)      (-inf at masked steps)
    alpha[b, :]  = softmax(score[b, :])
    output[b]    = sum_t alpha[b, t] x[b, t]
    ```

    This is the attention read-out of Liu and Lane (2016) and Goo et al.
    (2018) for an utterance's intent: the words that tell the intent ("fare",
    "airline") get most of the weight, wherever they stand. A sequence whose
    steps are all masked gives zeros.

    Args:
        units: Positive integer, the size of the hidden scoring layer `W`.
            Defaults to `None`: the input's feature size.
        **kwargs: Base layer keyword arguments, such as `name` and `dtype`.

    Call arguments:
        inputs: Float tensor of shape `(batch_size, timesteps, features)`.
        mask: Optional boolean tensor of shape `(batch_size, timesteps)`.

    Returns:
        A tensor of shape `(batch_size, features)`.

    Example:

    >>> layer = AttentionPooling(units=4)
    >>> keras.ops.shape(layer(np.ones((2, 5, 3))))
    (2, 3)
    """

    def __init__(self, units=None, **kwargs):
        super().__init__(**kwargs)
        if units is not None and (isinstance(units, bool) or not isinstance(units, int) or units < 1):
            raise ValueError(
                f"Received an invalid value for argument units, expected a positive integer or None, got {units!r}."
            )
        self.units = units
        self.supports_masking = True

    def build(self, input_shape):
        features = input_shape[-1]
        if features is None:
            raise ValueError("AttentionPooling needs a known feature size (the last input dimension).")
        units = self.units or features
        self.kernel = self.add_weight(name="kernel", shape=(features, units), initializer="glorot_uniform")
        self.bias = self.add_weight(name="bias", shape=(units,), initializer="zeros")
        self.score_vector = self.add_weight(name="score_vector", shape=(units,), initializer="glorot_uniform")

    def call(self, inputs, mask=None):
        hidden = ops.tanh(ops.matmul(inputs, self.kernel) + self.bias)
        scores = ops.sum(hidden * self.score_vector, axis=-1)  # (batch, timesteps)
        if mask is None:
            weights = ops.softmax(scores, axis=-1)
        else:
            keep = ops.cast(mask, scores.dtype)
            # Masked steps get a very low score, then an exact zero weight; an all-masked row sums to zero.
            scores = ops.where(mask, scores, ops.full_like(scores, -1e9))
            weights = ops.softmax(scores, axis=-1) * keep
        return ops.sum(inputs * ops.expand_dims(weights, -1), axis=1)

    def compute_mask(self, inputs, mask=None):
        return None

    def compute_output_shape(self, input_shape):
        return (input_shape[0], input_shape[-1])

    def get_config(self):
        config = super().get_config()
        config.update({"units": self.units})
        return config


@keras.saving.register_keras_serializable(package="custom_layers")
class MeanPooling(keras.layers.Layer):
    """The mean of a sequence's unmasked steps; zeros for a sequence with none.

    Keras's `GlobalAveragePooling1D` divides by the number of unmasked steps, so a
    row that is all padding (the filler rows that keep a batch's shape fixed)
    becomes 0 / 0 = NaN, and the NaN reaches the loss even where its weight is 0.
    Here the count is kept at least 1. It has no weights.

    Example:

    >>> x = np.array([[[1.0], [3.0], [9.0]]])
    >>> keras.ops.convert_to_numpy(MeanPooling()(x, mask=np.array([[True, True, False]])))
    array([[2.]], dtype=float32)
    """

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True
        self.built = True

    def call(self, inputs, mask=None):
        if mask is None:
            return ops.mean(inputs, axis=1)
        keep = ops.expand_dims(ops.cast(mask, inputs.dtype), -1)
        count = ops.maximum(ops.sum(keep, axis=1), 1.0)
        return ops.sum(inputs * keep, axis=1) / count

    def compute_mask(self, inputs, mask=None):
        return None

    def compute_output_shape(self, input_shape):
        return (input_shape[0], input_shape[-1])


@keras.saving.register_keras_serializable(package="custom_layers")
class StepBroadcast(keras.layers.Layer):
    """Repeats a per-sentence vector at every step of a sequence.

    Called on `[vector, sequence]` (shapes `(batch, d)` and `(batch, timesteps,
    ...)`), it returns `(batch, timesteps, d)` and passes on the sequence's
    mask: a slot head can then read the sentence's intent distribution beside
    each word's own features (as Stack-Propagation feeds the intent to its
    slot decoder). It has no weights.

    Example:

    >>> layer = StepBroadcast()
    >>> keras.ops.shape(layer([np.ones((2, 4)), np.ones((2, 7, 3))]))
    (2, 7, 4)
    """

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True
        self.built = True

    def call(self, inputs, mask=None):
        vector, sequence = inputs
        steps = ops.shape(sequence)[1]
        return ops.repeat(ops.expand_dims(vector, 1), steps, axis=1)

    def compute_mask(self, inputs, mask=None):
        if mask is None:
            return None
        return mask[1]

    def compute_output_shape(self, input_shape):
        vector, sequence = input_shape
        return (vector[0], sequence[1], vector[-1])
