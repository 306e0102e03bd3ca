"""A linear-chain conditional random field (CRF) tag head, written in `keras.ops`.

A softmax head labels every word on its own; a CRF head scores whole tag sequences,
so it learns that `I-toloc.city_name` follows `B-toloc.city_name` and not `O`. The
layer's output is the per-word emission scores; training uses `CRF.loss` (the
negative log-likelihood of the gold tag sequence) and prediction uses `CRF.decode`
(the Viterbi path).

```python
tag_head = CRF(num_tags)
emissions = tag_head(features)                 # (batch, words, num_tags)
model = keras.Model(word_ids, emissions)
model.compile(optimizer="adam", loss=tag_head.loss)
model.fit(word_ids_train, tag_ids_train)       # tag_ids: -1 at padding
tags = tag_head.decode(model.predict(word_ids_test), mask=word_ids_test != 0)
```

Saving: a model compiled with `loss=tag_head.loss` saves, but Keras records the bound
method as an entry it cannot rebuild, so load it with
`keras.saving.load_model(path, safe_mode=True, compile=False)`. To write a file that
also loads with the defaults, save an uncompiled view over the same layers:
`keras.Model(model.inputs, model.outputs).save(path)`.
"""

import keras
from keras import ops

FORBIDDEN_TRANSITION_SCORE = -1e4
"""Score added to forbidden transitions.

Large enough that no decoded path takes a forbidden transition, finite so that a gold
sequence that takes one (conlleval accepts `O I-x`) still has a finite loss.
"""


def top_index(scores):
    """Index of the largest score along the last axis, int32 (the lowest index on ties, as `argmax`).

    Under the TensorFlow backend through `ops.top_k`: there `ops.argmax` of
    floats tests the sign bit of every score (a guard against flush-to-zero)
    with a `Bitcast` that no ONNX opset has, so a model that calls it cannot be
    converted to ONNX. Elsewhere `ops.argmax`: JAX lowers `top_k` to a
    StableHLO composite that TensorFlow 2.21 cannot load from a SavedModel.
    """
    if keras.backend.backend() == "tensorflow":
        return ops.cast(ops.top_k(scores, k=1)[1][..., 0], "int32")
    return ops.cast(ops.argmax(scores, axis=-1), "int32")


def _parse_bio(tag):
    if tag.startswith("B-"):
        return "B", tag[2:]
    if tag.startswith("I-"):
        return "I", tag[2:]
    return "O", None


def bio_transition_mask(tags):
    """Allowed transitions between BIO tags, for `CRF(allowed_transitions=...)`.

    A tag `I-x` may only follow `B-x` or `I-x`, and may not start a sentence. Every
    other transition is allowed. Tags that start with neither `B-` nor `I-` (`O`,
    or a padding tag) count as outside any slot.

    Args:
        tags: List of tag strings, indexed by tag id.

    Returns:
        A pair `(allowed_transitions, allowed_start_transitions)`: a
        `num_tags x num_tags` list of lists of booleans, `[from][to]`, and a list
        of `num_tags` booleans.

    Example:

    >>> allowed, allowed_start = bio_transition_mask(["O", "B-city", "I-city"])
    >>> allowed
    [[True, True, False], [True, True, True], [True, True, True]]
    >>> allowed_start
    [True, True, False]
    """
    if isinstance(tags, str) or not all(isinstance(tag, str) for tag in tags):
        raise ValueError(f"Received an invalid value for argument tags, expected a list of tag strings, got {tags!r}.")
    parsed = [_parse_bio(tag) for tag in tags]
    allowed = []
    for from_prefix, from_type in parsed:
        row = []
        for to_prefix, to_type in parsed:
            if to_prefix == "I":
                row.append(from_prefix in ("B", "I") and from_type == to_type)
            else:
                row.append(True)
        allowed.append(row)
    allowed_start = [prefix != "I" for prefix, _ in parsed]
    return allowed, allowed_start


def _check_allowed(value, name, shape):
    """Returns `value` as plain (nested) lists of booleans, or `None`."""
    if value is None:
        return None

    def as_flags(row, size):
        flags = list(row)
        if len(flags) != size or not all(_is_flag(flag) for flag in flags):
            raise TypeError
        return [bool(flag) for flag in flags]

    try:
        if len(shape) == 1:
            return as_flags(value, shape[0])
        rows = list(value)
        if len(rows) != shape[0]:
            raise TypeError
        return [as_flags(row, shape[1]) for row in rows]
    except TypeError:
        expected = " x ".join(str(size) for size in shape)
        raise ValueError(
            f"Received an invalid value for argument {name}, expected {expected} booleans, got {value!r}."
        ) from None


def _is_flag(flag):
    try:
        return flag is True or flag is False or flag in (0, 1)
    except (TypeError, ValueError):
        return False


def _penalty(allowed):
    """Maps allowed flags to 0.0 and forbidden ones to FORBIDDEN_TRANSITION_SCORE."""
    if isinstance(allowed[0], list):
        return [_penalty(row) for row in allowed]
    return [0.0 if flag else FORBIDDEN_TRANSITION_SCORE for flag in allowed]


@keras.saving.register_keras_serializable(package="custom_layers")
class CRF(keras.layers.Layer):
    """Linear-chain conditional random field over tag sequences.

    For a sentence of `n` words with emission scores `E` (one score per word and
    tag), the score of a tag sequence `y` is

    ```
    s(y) = start[y_1] + sum_{t=1..n} E[t, y_t] + sum_{t=2..n} A[y_{t-1}, y_t] + end[y_n]
    ```

    with `A` the `transitions` matrix (`[from, to]`), and its probability is
    `p(y) = exp(s(y)) / Z` with `log Z = logsumexp over all tag sequences of s(y)`,
    computed by the forward algorithm:

    ```
    alpha_1[j] = start[j] + E[1, j]
    alpha_t[j] = logsumexp_i(alpha_{t-1}[i] + A[i, j]) + E[t, j]
    log Z      = logsumexp_j(alpha_n[j] + end[j])
    ```

    `decode` replaces logsumexp by max and follows the back pointers (Viterbi).
    When `use_kernel`, the emissions are a dense projection of the features,
    `E = inputs @ kernel + bias`; otherwise the inputs are the emissions. Forbidden
    transitions (`allowed_transitions`, see `bio_transition_mask`) get
    `FORBIDDEN_TRANSITION_SCORE` (-1e4) added in every computation
    (`transition_scores` returns the scores so penalised).

    Masks must be contiguous prefixes (words first, padding at the end). A sentence
    of one word is scored by `start`, its emission and `end`; a fully padded row has
    log-likelihood 0. The layer's output carries no mask: the CRF scores whole
    sentences, and `loss` reads the padding from the labels (-1). All scoring is
    done in float32, whatever the layer's dtype policy.

    The methods use only `keras.ops` and run inside compiled functions on every
    backend; the loops over words are `keras.ops.scan`, so one compiled step serves
    every sentence length.

    Args:
        num_tags: Positive integer, the number of tags.
        use_kernel: Boolean, whether to project the inputs to emission scores with
            a `kernel` and `bias`. If `False`, the inputs must have `num_tags`
            features. Defaults to `True`.
        allowed_transitions: Optional `num_tags x num_tags` nested list of
            booleans, `[from][to]`; `False` forbids a transition.
        allowed_start_transitions: Optional list of `num_tags` booleans; `False`
            forbids a tag at the first word.
        allowed_end_transitions: Optional list of `num_tags` booleans; `False`
            forbids a tag at the last word.
        kernel_initializer: Initializer for `kernel`. Defaults to
            `"glorot_uniform"`.
        bias_initializer: Initializer for `bias`. Defaults to `"zeros"`.
        transitions_initializer: Initializer for `transitions`,
            `start_transitions` and `end_transitions`. Defaults to `"zeros"`.
        kernel_regularizer: Regularizer for `kernel`.
        bias_regularizer: Regularizer for `bias`.
        transitions_regularizer: Regularizer for the three transition weights.
        kernel_constraint: Constraint for `kernel`.
        bias_constraint: Constraint for `bias`.
        transitions_constraint: Constraint for the three transition weights.
        **kwargs: Base layer keyword arguments, such as `name` and `dtype`.

    Call arguments:
        inputs: Float tensor of shape `(batch_size, timesteps, features)`.
        mask: Optional boolean tensor of shape `(batch_size, timesteps)` from
            previous layers; accepted and not passed on.

    Returns:
        The emission scores, a tensor of shape `(batch_size, timesteps, num_tags)`.

    Example:

    >>> word_ids = keras.Input(shape=(None,), dtype="int32")
    >>> x = keras.layers.Embedding(1000, 64, mask_zero=True)(word_ids)
    >>> x = keras.layers.Bidirectional(
    ...     keras.layers.LSTM(64, return_sequences=True))(x)
    >>> tag_head = CRF(num_tags=9)
    >>> model = keras.Model(word_ids, tag_head(x))
    >>> model.compile(optimizer="adam", loss=tag_head.loss)
    >>> # tag ids of shape (batch, timesteps), -1 at padding:
    >>> # model.fit(ids, tag_ids); tag_head.decode(model.predict(ids), ids != 0)
    >>> # Saved after compile: load_model(path, safe_mode=True, compile=False).
    """

    def __init__(
        self,
        num_tags,
        use_kernel=True,
        allowed_transitions=None,
        allowed_start_transitions=None,
        allowed_end_transitions=None,
        kernel_initializer="glorot_uniform",
        bias_initializer="zeros",
        transitions_initializer="zeros",
        kernel_regularizer=None,
        bias_regularizer=None,
        transitions_regularizer=None,
        kernel_constraint=None,
        bias_constraint=None,
        transitions_constraint=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if isinstance(num_tags, bool) or not isinstance(num_tags, int) or num_tags < 1:
            raise ValueError(
                f"Received an invalid value for argument num_tags, expected a positive integer, got {num_tags!r}."
            )
        self.num_tags = num_tags
        self.use_kernel = bool(use_kernel)
        self.allowed_transitions = _check_allowed(allowed_transitions, "allowed_transitions", (num_tags, num_tags))
        self.allowed_start_transitions = _check_allowed(
            allowed_start_transitions, "allowed_start_transitions", (num_tags,)
        )
        self.allowed_end_transitions = _check_allowed(allowed_end_transitions, "allowed_end_transitions", (num_tags,))
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.bias_initializer = keras.initializers.get(bias_initializer)
        self.transitions_initializer = keras.initializers.get(transitions_initializer)
        self.kernel_regularizer = keras.regularizers.get(kernel_regularizer)
        self.bias_regularizer = keras.regularizers.get(bias_regularizer)
        self.transitions_regularizer = keras.regularizers.get(transitions_regularizer)
        self.kernel_constraint = keras.constraints.get(kernel_constraint)
        self.bias_constraint = keras.constraints.get(bias_constraint)
        self.transitions_constraint = keras.constraints.get(transitions_constraint)

    def build(self, input_shape):
        input_dim = input_shape[-1]
        if self.use_kernel:
            if input_dim is None:
                raise ValueError(
                    f"CRF with use_kernel=True needs a known last input dimension, got an input of shape {input_shape}."
                )
            self.kernel = self.add_weight(
                name="kernel",
                shape=(input_dim, self.num_tags),
                initializer=self.kernel_initializer,
                regularizer=self.kernel_regularizer,
                constraint=self.kernel_constraint,
            )
            self.bias = self.add_weight(
                name="bias",
                shape=(self.num_tags,),
                initializer=self.bias_initializer,
                regularizer=self.bias_regularizer,
                constraint=self.bias_constraint,
            )
        elif input_dim is not None and input_dim != self.num_tags:
            raise ValueError(
                "CRF with use_kernel=False takes emission scores with num_tags="
                f"{self.num_tags} features, got an input of shape {input_shape}."
            )
        self.transitions = self.add_weight(
            name="transitions",
            shape=(self.num_tags, self.num_tags),
            initializer=self.transitions_initializer,
            regularizer=self.transitions_regularizer,
            constraint=self.transitions_constraint,
        )
        self.start_transitions = self.add_weight(
            name="start_transitions",
            shape=(self.num_tags,),
            initializer=self.transitions_initializer,
            regularizer=self.transitions_regularizer,
            constraint=self.transitions_constraint,
        )
        self.end_transitions = self.add_weight(
            name="end_transitions",
            shape=(self.num_tags,),
            initializer=self.transitions_initializer,
            regularizer=self.transitions_regularizer,
            constraint=self.transitions_constraint,
        )
        self.built = True

    def call(self, inputs, mask=None):
        if not self.use_kernel:
            return ops.cast(inputs, self.compute_dtype)
        return ops.matmul(inputs, self.kernel) + self.bias

    def compute_mask(self, inputs, mask=None):
        # The output is scored as whole sentences; a mask on it would make Keras
        # weight the per-sentence loss by a per-word mask.
        return None

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (self.num_tags,)

    # ------------------------------------------------------------------ scoring

    def transition_scores(self):
        """Transition, start and end scores as every computation reads them.

        The layer's three transition weights in float32, with
        `FORBIDDEN_TRANSITION_SCORE` added where `allowed_transitions`,
        `allowed_start_transitions` or `allowed_end_transitions` forbid one. A
        decoder written outside this layer (an exported graph) reads these, so
        that it scores paths exactly as `decode` does.

        Returns:
            A tuple `(transitions, start, end)` of float32 tensors: `transitions`
            of shape `(num_tags, num_tags)`, `[from, to]`; `start` and `end` of
            shape `(num_tags,)`, the scores of a tag at the first and the last word.

        Raises:
            ValueError: If the layer has no weights yet (it was neither called
                nor built).
        """
        if not self.built:
            raise ValueError(
                f"The CRF layer '{self.name}' has no weights yet: call it on a batch "
                "of features (or build it) before scoring or decoding."
            )
        transitions = ops.cast(self.transitions, "float32")
        start = ops.cast(self.start_transitions, "float32")
        end = ops.cast(self.end_transitions, "float32")
        if self.allowed_transitions is not None:
            penalty = _penalty(self.allowed_transitions)
            transitions = transitions + ops.convert_to_tensor(penalty, "float32")
        if self.allowed_start_transitions is not None:
            penalty = _penalty(self.allowed_start_transitions)
            start = start + ops.convert_to_tensor(penalty, "float32")
        if self.allowed_end_transitions is not None:
            penalty = _penalty(self.allowed_end_transitions)
            end = end + ops.convert_to_tensor(penalty, "float32")
        return transitions, start, end

    @staticmethod
    def _standardize(emissions, mask):
        """float32 emissions and a boolean mask, all words valid when mask is None."""
        emissions = ops.cast(emissions, "float32")
        if mask is None:
            mask = ops.ones_like(emissions[:, :, 0], dtype="bool")
        else:
            mask = ops.cast(mask, "bool")
        return emissions, mask

    @staticmethod
    def _time_major(emissions, mask):
        """Words 2..n as one scan input of shape (T-1, B, N + 1).

        The last channel holds the mask as 0.0 / 1.0. A single tensor, because the
        TensorFlow backend's scan fails on nested inputs whose length is unknown
        when traced (`None` timesteps, as in padded `tf.data` batches).
        """
        steps = ops.concatenate([emissions, ops.cast(mask, emissions.dtype)[:, :, None]], axis=-1)
        return ops.transpose(steps[:, 1:, :], (1, 0, 2))

    @staticmethod
    def _unpack_step(step):
        """Emission scores (B, N) and validity flags (B, 1) of one word."""
        return step[:, :-1], step[:, -1:] > 0.5

    def log_partition(self, emissions, mask=None):
        """Log-partition `log Z` of each sentence by the forward algorithm.

        Args:
            emissions: Float tensor `(batch_size, timesteps, num_tags)`.
            mask: Optional boolean tensor `(batch_size, timesteps)`, a contiguous
                prefix of `True` per row. `None` means every word is valid.

        Returns:
            Float32 tensor `(batch_size,)`.
        """
        emissions, mask = self._standardize(emissions, mask)
        transitions, start, end = self.transition_scores()
        # logsumexp_i(alpha[i] + A[i, j]) is computed as
        #   m + c[j] + log(sum_i exp(alpha[i] - m) * exp(A[i, j] - c[j]))
        # with m = max_i alpha[i] and c[j] = max_i A[i, j]: one matrix product per
        # step instead of batch x num_tags^2 exponentials (about 14 times faster
        # forward and backward on a CPU). The result does not depend on m and c,
        # so no gradient flows through them. A sum below 1e-30 (a tag at least
        # e^-69 less likely than the best one) is raised to 1e-30, which keeps
        # the logarithm and its gradient finite.
        column_max = ops.stop_gradient(ops.max(transitions, axis=0))  # c, (N,)
        exp_transitions = ops.exp(transitions - column_max[None, :])
        alpha = start[None, :] + emissions[:, 0, :]  # alpha_1, (B, N)

        def forward_step(alpha, step):
            emission, valid = self._unpack_step(step)  # word t
            shift = ops.stop_gradient(ops.max(alpha, axis=1, keepdims=True))  # m
            summed = ops.matmul(ops.exp(alpha - shift), exp_transitions)
            next_alpha = ops.log(ops.maximum(summed, 1e-30)) + shift + column_max + emission
            return ops.where(valid, next_alpha, alpha), None

        alpha, _ = ops.scan(forward_step, alpha, self._time_major(emissions, mask))
        return ops.logsumexp(alpha + end[None, :], axis=1)

    def sequence_score(self, emissions, tags, mask=None):
        """Unnormalised score `s(y)` of the given tag sequences.

        Args:
            emissions: Float tensor `(batch_size, timesteps, num_tags)`.
            tags: Integer tensor `(batch_size, timesteps)` of tag ids; values at
                padded positions are ignored.
            mask: Optional boolean tensor `(batch_size, timesteps)`, a contiguous
                prefix of `True` per row. `None` means every word is valid.

        Returns:
            Float32 tensor `(batch_size,)`.
        """
        emissions, mask = self._standardize(emissions, mask)
        transitions, start, end = self.transition_scores()
        tags = ops.where(mask, ops.cast(tags, "int32"), 0)
        weight = ops.cast(mask, "float32")

        emitted = ops.take_along_axis(emissions, tags[:, :, None], axis=2)[:, :, 0]
        score = ops.sum(emitted * weight, axis=1)
        score = score + ops.take(start, tags[:, 0], axis=0)
        # transitions[y_{t-1}, y_t] read from the flattened matrix.
        pair_index = tags[:, :-1] * self.num_tags + tags[:, 1:]
        moved = ops.take(ops.reshape(transitions, (-1,)), pair_index, axis=0)
        score = score + ops.sum(moved * weight[:, 1:], axis=1)
        lengths = ops.sum(ops.cast(mask, "int32"), axis=1)
        last_index = ops.maximum(lengths - 1, 0)
        last_tags = ops.take_along_axis(tags, last_index[:, None], axis=1)[:, 0]
        return score + ops.take(end, last_tags, axis=0)

    def log_likelihood(self, emissions, tags, mask=None):
        """Log-probability `s(y) - log Z` of the given tag sequences.

        Args:
            emissions: Float tensor `(batch_size, timesteps, num_tags)`.
            tags: Integer tensor `(batch_size, timesteps)` of tag ids; values at
                padded positions are ignored.
            mask: Optional boolean tensor `(batch_size, timesteps)`, a contiguous
                prefix of `True` per row. `None` means every word is valid.

        Returns:
            Float32 tensor `(batch_size,)`, 0 for fully padded rows.
        """
        emissions, mask = self._standardize(emissions, mask)
        log_prob = self.sequence_score(emissions, tags, mask) - self.log_partition(emissions, mask)
        has_words = ops.any(mask, axis=1)
        return ops.where(has_words, log_prob, ops.zeros_like(log_prob))

    def loss(self, y_true, y_pred):
        """Negative log-likelihood of the gold tags, one value per sentence.

        Pass the bound method to `model.compile(loss=tag_head.loss)`: Keras averages
        the values over the batch (and applies `sample_weight` of shape
        `(batch_size,)` if given), so the training loss is the mean negative
        log-likelihood per sentence.

        Args:
            y_true: Tag ids `(batch_size, timesteps)` (or with a trailing axis of
                1), `-1` at padding. Integer or float (Keras casts labels to float).
            y_pred: Emission scores `(batch_size, timesteps, num_tags)`, the CRF
                layer's output.

        Returns:
            Float32 tensor `(batch_size,)`, 0 for fully padded rows.
        """
        y_true = ops.convert_to_tensor(y_true)
        if len(y_true.shape) == 3:
            y_true = ops.squeeze(y_true, axis=-1)
        tags = ops.cast(y_true, "int32")
        mask = ops.greater_equal(tags, 0)
        tags = ops.where(mask, tags, 0)
        return -self.log_likelihood(y_pred, tags, mask)

    def decode(self, emissions, mask=None):
        """Most likely tag sequence of each sentence (Viterbi).

        Args:
            emissions: Float tensor `(batch_size, timesteps, num_tags)`.
            mask: Optional boolean tensor `(batch_size, timesteps)`, a contiguous
                prefix of `True` per row. `None` means every word is valid.

        Returns:
            Int32 tensor `(batch_size, timesteps)` of tag ids, 0 at padding.
        """
        emissions, mask = self._standardize(emissions, mask)
        transitions, start, end = self.transition_scores()
        first_score = start[None, :] + emissions[:, 0, :]  # delta_1, (B, N)

        # Forward: delta_t[j] = max_i(delta_{t-1}[i] + A[i, j]) + E[t, j]. Only the
        # maxima are kept; the back pointers are found again while walking back,
        # one (B, N) argmax per word instead of a (B, N, N) one (about 20 times
        # faster on a CPU for 120 tags).
        def viterbi_step(score, step):
            emission, valid = self._unpack_step(step)  # word t
            candidates = score[:, :, None] + transitions[None, :, :]  # (B, from, to)
            best = ops.max(candidates, axis=1) + emission
            score = ops.where(valid, best, score)  # a padded word keeps delta
            return score, score

        steps = self._time_major(emissions, mask)
        last_score, scores = ops.scan(viterbi_step, first_score, steps)
        last_tag = top_index(last_score + end[None, :])

        # Backward: y_{t-1} = argmax_i(delta_{t-1}[i] + A[i, y_t]), and a padded
        # word t keeps its tag. Each step reads delta_{t-1} and word t's flag.
        previous_scores = ops.concatenate([first_score[None], scores], axis=0)[:-1]
        backward_steps = ops.concatenate([previous_scores, steps[:, :, -1:]], axis=-1)
        into = ops.transpose(transitions)  # into[j] = A[:, j], scores of moving to j

        def backtrack_step(tag, step):
            previous_score, valid = self._unpack_step(step)
            candidates = previous_score + ops.take(into, tag, axis=0)  # (B, from)
            best = top_index(candidates)
            previous_tag = ops.where(valid[:, 0], best, tag)
            return previous_tag, previous_tag

        _, earlier_tags = ops.scan(backtrack_step, last_tag, backward_steps, reverse=True)
        path = ops.concatenate([ops.transpose(earlier_tags, (1, 0)), last_tag[:, None]], axis=1)
        return ops.where(mask, path, ops.zeros_like(path))

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "num_tags": self.num_tags,
                "use_kernel": self.use_kernel,
                "allowed_transitions": self.allowed_transitions,
                "allowed_start_transitions": self.allowed_start_transitions,
                "allowed_end_transitions": self.allowed_end_transitions,
                "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
                "bias_initializer": keras.initializers.serialize(self.bias_initializer),
                "transitions_initializer": keras.initializers.serialize(self.transitions_initializer),
                "kernel_regularizer": keras.regularizers.serialize(self.kernel_regularizer),
                "bias_regularizer": keras.regularizers.serialize(self.bias_regularizer),
                "transitions_regularizer": keras.regularizers.serialize(self.transitions_regularizer),
                "kernel_constraint": keras.constraints.serialize(self.kernel_constraint),
                "bias_constraint": keras.constraints.serialize(self.bias_constraint),
                "transitions_constraint": keras.constraints.serialize(self.transitions_constraint),
            }
        )
        return config
