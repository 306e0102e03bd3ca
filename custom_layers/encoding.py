"""Input-encoding layers for slot filling: 1-of-N words, letter trigrams, context windows.

Each word of a sentence reaches the recurrent layers as a vector. Three small layers build
those vectors from the integer ids the data encoder produces (0 is padding, 1 is the
reserved OTHER id for unknown words):

- `OneHot` turns word ids into 1-of-N vectors, the lecture's word encoding.
- `TrigramEmbedding` turns each word's letter-trigram ids into the product of its
  multi-hot trigram vector with a weight matrix, which spells unseen words from parts
  of seen ones.
- `ContextWindow` concatenates each word's vector with those of its neighbours, the
  window that Mesnil et al. (2015) feed their recurrent networks.

All three propagate a padding mask, so a recurrent layer after them skips padded steps.
"""

import keras
from keras import ops


def _check_positive_int(value, name):
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"Received an invalid value for argument {name}, expected a positive integer, got {value!r}.")


@keras.saving.register_keras_serializable(package="custom_layers")
class OneHot(keras.layers.Layer):
    """Encodes integer word ids as 1-of-N vectors.

    For a word id `i` the output is the unit vector `e_i` of length `num_tokens`:

    ```
    output[b, t, k] = 1  if ids[b, t] == k  (and, with mask_zero, k != 0)
                      0  otherwise
    ```

    With `mask_zero=True` id 0 is padding: it becomes the all-zero vector and the
    layer emits the mask `ids != 0`, so a following recurrent layer skips padded
    steps. Ids outside `[0, num_tokens)` also become all-zero vectors. The layer has
    no weights; a `Dense` layer after it is the lecture's word-embedding matrix
    written out in full.

    Args:
        num_tokens: Positive integer, the size of the vocabulary including the
            padding id 0 and the OTHER id 1.
        mask_zero: Boolean, whether id 0 is padding (all-zero vector, masked).
            Defaults to `True`.
        **kwargs: Base layer keyword arguments, such as `name` and `dtype`.

    Call arguments:
        inputs: Integer tensor of shape `(batch_size, timesteps)`.

    Returns:
        A float tensor of shape `(batch_size, timesteps, num_tokens)`.

    Example:

    >>> layer = OneHot(4)
    >>> keras.ops.convert_to_numpy(layer(np.array([[2, 3, 0]])))
    array([[[0., 0., 1., 0.],
            [0., 0., 0., 1.],
            [0., 0., 0., 0.]]], dtype=float32)
    """

    def __init__(self, num_tokens, mask_zero=True, **kwargs):
        super().__init__(**kwargs)
        _check_positive_int(num_tokens, "num_tokens")
        self.num_tokens = num_tokens
        self.mask_zero = bool(mask_zero)
        self.built = True

    def call(self, inputs):
        ids = ops.cast(inputs, "int32")
        one_hot = ops.one_hot(ids, self.num_tokens, dtype=self.compute_dtype)
        if self.mask_zero:
            not_padding = ops.cast(ops.not_equal(ids, 0), self.compute_dtype)
            one_hot = one_hot * ops.expand_dims(not_padding, -1)
        return one_hot

    def compute_mask(self, inputs, mask=None):
        if not self.mask_zero:
            return None
        return ops.not_equal(inputs, 0)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape) + (self.num_tokens,)

    def get_config(self):
        config = super().get_config()
        config.update({"num_tokens": self.num_tokens, "mask_zero": self.mask_zero})
        return config


@keras.saving.register_keras_serializable(package="custom_layers")
class TrigramEmbedding(keras.layers.Layer):
    """Embeds each word as the combination of its letter-trigram embeddings.

    A word arrives as `K` trigram ids (0 is padding). With `E` the `embeddings`
    matrix and `c` the word's trigram count vector (the multi-hot letter-trigram
    vector when the encoder lists each distinct trigram once):

    ```
    sum:   output[b, t] = sum_{k : ids[b, t, k] != 0} E[ids[b, t, k]]  =  c @ E
    mean:  output[b, t] = (c @ E) / max(1, number of non-zero ids of the word)
    ```

    Padding ids contribute nothing, and a fully padded word is the zero vector
    (the mean never divides by zero). The layer emits the mask "the word has at
    least one non-zero trigram id", so a model fed by trigrams alone skips padded
    words.

    Args:
        num_trigrams: Positive integer, the size of the trigram vocabulary
            including the padding id 0.
        output_dim: Positive integer, the size of each word vector.
        combiner: `"sum"` or `"mean"`, how the trigram embeddings of a word are
            combined. Defaults to `"sum"`.
        embeddings_initializer: Initializer for the `embeddings` matrix.
            Defaults to `"uniform"`, as `keras.layers.Embedding`.
        embeddings_regularizer: Regularizer for the `embeddings` matrix.
        embeddings_constraint: Constraint for the `embeddings` matrix.
        **kwargs: Base layer keyword arguments, such as `name` and `dtype`.

    Call arguments:
        inputs: Integer tensor of shape `(batch_size, timesteps, trigrams_per_word)`.

    Returns:
        A float tensor of shape `(batch_size, timesteps, output_dim)`.

    Example:

    >>> layer = TrigramEmbedding(num_trigrams=500, output_dim=16, combiner="mean")
    >>> ids = np.array([[[7, 42, 3, 0], [11, 0, 0, 0], [0, 0, 0, 0]]])
    >>> layer(ids).shape
    (1, 3, 16)
    """

    def __init__(
        self,
        num_trigrams,
        output_dim,
        combiner="sum",
        embeddings_initializer="uniform",
        embeddings_regularizer=None,
        embeddings_constraint=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        _check_positive_int(num_trigrams, "num_trigrams")
        _check_positive_int(output_dim, "output_dim")
        if combiner not in ("sum", "mean"):
            raise ValueError(
                f"Received an invalid value for argument combiner, expected 'sum' or 'mean', got {combiner!r}."
            )
        self.num_trigrams = num_trigrams
        self.output_dim = output_dim
        self.combiner = combiner
        self.embeddings_initializer = keras.initializers.get(embeddings_initializer)
        self.embeddings_regularizer = keras.regularizers.get(embeddings_regularizer)
        self.embeddings_constraint = keras.constraints.get(embeddings_constraint)

    def build(self, input_shape):
        if len(input_shape) != 3:
            raise ValueError(
                "TrigramEmbedding expects inputs of shape (batch_size, timesteps, "
                f"trigrams_per_word), got an input of shape {input_shape}."
            )
        self.embeddings = self.add_weight(
            name="embeddings",
            shape=(self.num_trigrams, self.output_dim),
            initializer=self.embeddings_initializer,
            regularizer=self.embeddings_regularizer,
            constraint=self.embeddings_constraint,
        )
        self.built = True

    def call(self, inputs):
        ids = ops.cast(inputs, "int32")
        present = ops.cast(ops.not_equal(ids, 0), self.compute_dtype)  # (B, T, K)
        rows = ops.take(self.embeddings, ids, axis=0)  # (B, T, K, output_dim)
        summed = ops.sum(rows * ops.expand_dims(present, -1), axis=2)
        if self.combiner == "mean":
            count = ops.sum(present, axis=2, keepdims=True)
            summed = summed / ops.maximum(count, 1.0)
        return summed

    def compute_mask(self, inputs, mask=None):
        return ops.any(ops.not_equal(inputs, 0), axis=-1)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (self.output_dim,)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "num_trigrams": self.num_trigrams,
                "output_dim": self.output_dim,
                "combiner": self.combiner,
                "embeddings_initializer": keras.initializers.serialize(self.embeddings_initializer),
                "embeddings_regularizer": keras.regularizers.serialize(self.embeddings_regularizer),
                "embeddings_constraint": keras.constraints.serialize(self.embeddings_constraint),
            }
        )
        return config


@keras.saving.register_keras_serializable(package="custom_layers")
class ContextWindow(keras.layers.Layer):
    """Concatenates each step's features with those of its neighbours.

    With window half-width `s = size`, for every step `t` of a sequence `x`:

    ```
    output[b, t] = concat(x'[b, t - s], ..., x'[b, t], ..., x'[b, t + s])
    x'[b, u]     = x[b, u]  if 0 <= u < timesteps and mask[b, u]
                   0        otherwise
    ```

    Neighbours outside the sentence or at padded (masked) steps contribute zeros, so
    padding added to the right of a sentence never changes the outputs at its words.
    The incoming mask passes through unchanged. This is the word window of Mesnil
    et al. (2015); the layer has no weights.

    Args:
        size: Non-negative integer, the number of neighbours taken on each side.
            The output has `(2 * size + 1) * features` channels. `0` returns the
            (masked) input. Defaults to `1`.
        **kwargs: Base layer keyword arguments, such as `name` and `dtype`.

    Call arguments:
        inputs: Float tensor of shape `(batch_size, timesteps, features)`.
        mask: Optional boolean tensor of shape `(batch_size, timesteps)`, `True`
            at words and `False` at padding; taken from the previous layer.

    Returns:
        A tensor of shape `(batch_size, timesteps, (2 * size + 1) * features)`.

    Example:

    >>> layer = ContextWindow(size=1)
    >>> x = np.array([[[1.0], [2.0], [3.0]]])
    >>> keras.ops.convert_to_numpy(layer(x))[0]
    array([[0., 1., 2.],
           [1., 2., 3.],
           [2., 3., 0.]], dtype=float32)
    """

    def __init__(self, size=1, **kwargs):
        super().__init__(**kwargs)
        if isinstance(size, bool) or not isinstance(size, int) or size < 0:
            raise ValueError(
                f"Received an invalid value for argument size, expected a non-negative integer, got {size!r}."
            )
        self.size = size
        self.supports_masking = True
        self.built = True

    def call(self, inputs, mask=None):
        features = inputs
        if mask is not None:
            keep = ops.cast(mask, features.dtype)
            features = features * ops.expand_dims(keep, -1)
        if self.size == 0:
            return features
        width = 2 * self.size
        padded = ops.pad(features, [[0, 0], [self.size, self.size], [0, 0]])
        # Shifted copy k holds x'[t - size + k] at step t, for k = 0 .. 2 * size.
        shifted = [padded[:, k : (k - width) or None, :] for k in range(width + 1)]
        return ops.concatenate(shifted, axis=-1)

    def compute_mask(self, inputs, mask=None):
        return mask

    def compute_output_shape(self, input_shape):
        features = input_shape[-1]
        channels = None if features is None else (2 * self.size + 1) * features
        return tuple(input_shape[:-1]) + (channels,)

    def get_config(self):
        config = super().get_config()
        config.update({"size": self.size})
        return config
