"""The peephole LSTM (Gers, Schraudolph and Schmidhuber 2002) as a Keras layer.

`PeepholeLSTMCell` processes one time step and `PeepholeLSTM` runs it over a
sequence through `keras.layers.RNN`, the way `keras.layers.LSTMCell` and
`keras.layers.LSTM` are built. The weight layout is the one of
`keras.layers.LSTMCell` (gates in the order i, f, c, o) plus the peephole
weights, so a trained `keras.layers.LSTM` loads into a `PeepholeLSTM` as a
warm start.
"""

import keras
from keras import activations, constraints, initializers, ops, regularizers

from custom_layers.per_sequence_dropout import (
    PerSequenceDropoutCell,
    PerSequenceDropoutRNN,
    check_positive_integer,
    check_rate,
)
from custom_layers.projected_rnn import ProjectedLoop

PEEPHOLE_MODES = ("diagonal", "full")


@keras.saving.register_keras_serializable(package="custom_layers")
class PeepholeLSTMCell(PerSequenceDropoutCell, keras.layers.Layer):
    """Cell class for the peephole LSTM layer: one time step.

    With `peephole="diagonal"` (the default) the gates look at the cell
    state through one weight per unit, as in Gers, Schraudolph and
    Schmidhuber (2002) and TensorFlow 1's `LSTMCell(use_peepholes=True)`:

    ```
    i_t = sigma(W_i x_t + U_i h_{t-1} + p_i * c_{t-1} + b_i)
    f_t = sigma(W_f x_t + U_f h_{t-1} + p_f * c_{t-1} + b_f)
    c_t = f_t * c_{t-1} + i_t * g(W_c x_t + U_c h_{t-1} + b_c)
    o_t = sigma(W_o x_t + U_o h_{t-1} + p_o * c_t + b_o)
    h_t = o_t * g(c_t)
    ```

    where `sigma` is `recurrent_activation`, `g` is `activation` and `*`
    multiplies element by element. The input and forget gates look at the
    previous cell state `c_{t-1}`; the output gate looks at the new one `c_t`.

    With `peephole="full"` the four transforms read the input, the previous
    output and the cell state concatenated, so each peephole is a full
    `(units, units)` matrix `P` instead of a diagonal:

    ```
    i_t = sigma(W_i x_t + U_i h_{t-1} + P_i c_{t-1} + b_i)
    f_t = sigma(W_f x_t + U_f h_{t-1} + P_f c_{t-1} + b_f)
    c_t = f_t * c_{t-1} + i_t * g(W_c x_t + U_c h_{t-1} + P_c c_{t-1} + b_c)
    o_t = sigma(W_o x_t + U_o h_{t-1} + P_o c_t + b_o)
    h_t = o_t * g(c_t)
    ```

    The cell input and the input and forget gates read `c_{t-1}` (the only
    cell state known when they are computed); the output gate reads `c_t`,
    as in the diagonal mode.

    Weights, in the order `get_weights()` returns them:

    - `kernel`, shape `(input_dim, 4 * units)`: `W`, gates i, f, c, o.
    - `recurrent_kernel`, shape `(units, 4 * units)`: `U`, gates i, f, c, o.
    - `bias`, shape `(4 * units,)`: `b`, gates i, f, c, o (if `use_bias`).
    - diagonal mode: `input_gate_peephole_weights`,
      `forget_gate_peephole_weights`, `output_gate_peephole_weights`,
      each of shape `(units,)`: `p_i`, `p_f`, `p_o`.
    - full mode: `peephole_kernel`, shape `(units, 4 * units)`: `P`,
      gates i, f, c, o.

    The first three are laid out exactly as in `keras.layers.LSTMCell`; with
    the peephole weights at zero the cell computes what `LSTMCell` computes.

    Dropout: the cell multiplies `x_t` by one input mask and `h_{t-1}` by one
    recurrent mask, the same masks at every step of a sequence (one mask
    shared by the four gates). The masks are drawn once per sequence by
    `PeepholeLSTM` with `keras.random.dropout` and the cell's
    `keras.random.SeedGenerator`; a cell run by a plain `keras.layers.RNN`
    cannot draw them inside the loop on every backend, so it raises a
    `ValueError` when asked for dropout in training: use `PeepholeLSTM`
    there. With `dropout=0` and `recurrent_dropout=0` no mask is drawn and
    nothing is multiplied.

    Args:
        units: Positive integer, dimensionality of the output and the cell
            state.
        activation: Activation `g` of the cell input and of the cell state
            on output. Default: `"tanh"`. `None` or `"linear"` means none.
        recurrent_activation: Activation `sigma` of the gates.
            Default: `"sigmoid"`.
        use_bias: Boolean (default `True`), whether the cell uses a bias.
        peephole: `"diagonal"` (default) for one peephole weight per unit,
            or `"full"` for full peephole matrices (see above).
        kernel_initializer: Initializer for `kernel`.
            Default: `"glorot_uniform"`.
        recurrent_initializer: Initializer for `recurrent_kernel`.
            Default: `"orthogonal"`.
        peephole_initializer: Initializer for the peephole weights.
            Default: `"glorot_uniform"`, as TensorFlow 1 initialized them.
            `"zeros"` starts the cell as a plain LSTM.
        bias_initializer: Initializer for `bias`. Default: `"zeros"`.
        unit_forget_bias: Boolean (default `True`). If `True`, add 1 to the
            bias of the forget gate at initialization, as
            `keras.layers.LSTMCell` does.
        kernel_regularizer: Regularizer for `kernel`. Default: `None`.
        recurrent_regularizer: Regularizer for `recurrent_kernel`.
        peephole_regularizer: Regularizer for the peephole weights.
        bias_regularizer: Regularizer for `bias`.
        kernel_constraint: Constraint for `kernel`. Default: `None`.
        recurrent_constraint: Constraint for `recurrent_kernel`.
        peephole_constraint: Constraint for the peephole weights.
        bias_constraint: Constraint for `bias`.
        dropout: Float in [0, 1). Fraction of the input units to drop.
            Default: 0.
        recurrent_dropout: Float in [0, 1). Fraction of the units of
            `h_{t-1}` to drop in the recurrent transform. Default: 0.
        seed: Random seed for dropout.

    Call arguments:
        inputs: A 2D tensor `x_t`, with shape `(batch, features)`.
        states: A list of two 2D tensors `[h_{t-1}, c_{t-1}]`, each with
            shape `(batch, units)`.
        training: Python boolean, whether dropout applies.

    Example:

    >>> inputs = np.random.random((32, 10, 8))
    >>> rnn = keras.layers.RNN(PeepholeLSTMCell(4), return_sequences=True)
    >>> rnn(inputs).shape
    (32, 10, 4)
    """

    sequence_layer = "PeepholeLSTM"  # runs this cell over sequences, drawing its dropout masks

    def __init__(
        self,
        units,
        activation="tanh",
        recurrent_activation="sigmoid",
        use_bias=True,
        peephole="diagonal",
        kernel_initializer="glorot_uniform",
        recurrent_initializer="orthogonal",
        peephole_initializer="glorot_uniform",
        bias_initializer="zeros",
        unit_forget_bias=True,
        kernel_regularizer=None,
        recurrent_regularizer=None,
        peephole_regularizer=None,
        bias_regularizer=None,
        kernel_constraint=None,
        recurrent_constraint=None,
        peephole_constraint=None,
        bias_constraint=None,
        dropout=0.0,
        recurrent_dropout=0.0,
        seed=None,
        **kwargs,
    ):
        check_positive_integer("units", units)
        if peephole not in PEEPHOLE_MODES:
            raise ValueError(
                "Received an invalid value for argument `peephole`, "
                f"expected one of {PEEPHOLE_MODES}, got {peephole!r}."
            )
        check_rate("dropout", dropout)
        check_rate("recurrent_dropout", recurrent_dropout)
        super().__init__(**kwargs)
        self.units = int(units)
        self.activation = activations.get(activation)
        self.recurrent_activation = activations.get(recurrent_activation)
        self.use_bias = use_bias
        self.peephole = peephole

        self.kernel_initializer = initializers.get(kernel_initializer)
        self.recurrent_initializer = initializers.get(recurrent_initializer)
        self.peephole_initializer = initializers.get(peephole_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.unit_forget_bias = unit_forget_bias

        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.recurrent_regularizer = regularizers.get(recurrent_regularizer)
        self.peephole_regularizer = regularizers.get(peephole_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)

        self.kernel_constraint = constraints.get(kernel_constraint)
        self.recurrent_constraint = constraints.get(recurrent_constraint)
        self.peephole_constraint = constraints.get(peephole_constraint)
        self.bias_constraint = constraints.get(bias_constraint)

        self.dropout = float(dropout)
        self.recurrent_dropout = float(recurrent_dropout)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed=seed)

        self.state_size = [self.units, self.units]
        self.output_size = self.units

    def build(self, input_shape):
        input_dim = input_shape[-1]
        units = self.units
        self.kernel = self.add_weight(
            shape=(input_dim, 4 * units),
            name="kernel",
            initializer=self.kernel_initializer,
            regularizer=self.kernel_regularizer,
            constraint=self.kernel_constraint,
        )
        self.recurrent_kernel = self.add_weight(
            shape=(units, 4 * units),
            name="recurrent_kernel",
            initializer=self.recurrent_initializer,
            regularizer=self.recurrent_regularizer,
            constraint=self.recurrent_constraint,
        )
        if self.use_bias:
            if self.unit_forget_bias:

                def bias_initializer(_, *args, **kwargs):
                    return ops.concatenate(
                        [
                            self.bias_initializer((units,), *args, **kwargs),
                            initializers.get("ones")((units,), *args, **kwargs),
                            self.bias_initializer((2 * units,), *args, **kwargs),
                        ]
                    )

            else:
                bias_initializer = self.bias_initializer
            self.bias = self.add_weight(
                shape=(4 * units,),
                name="bias",
                initializer=bias_initializer,
                regularizer=self.bias_regularizer,
                constraint=self.bias_constraint,
            )
        else:
            self.bias = None

        if self.peephole == "diagonal":
            self.input_gate_peephole_weights = self._add_peephole_weight((units,), "input_gate_peephole_weights")
            self.forget_gate_peephole_weights = self._add_peephole_weight((units,), "forget_gate_peephole_weights")
            self.output_gate_peephole_weights = self._add_peephole_weight((units,), "output_gate_peephole_weights")
        else:
            self.peephole_kernel = self._add_peephole_weight((units, 4 * units), "peephole_kernel")

    def _add_peephole_weight(self, shape, name):
        return self.add_weight(
            shape=shape,
            name=name,
            initializer=self.peephole_initializer,
            regularizer=self.peephole_regularizer,
            constraint=self.peephole_constraint,
        )

    def call(self, inputs, states, training=False):
        h_tm1 = states[0]  # previous output h_{t-1}
        c_tm1 = states[1]  # previous cell state c_{t-1}
        inputs, h_tm1 = self.apply_dropout(inputs, h_tm1, training)

        # One fused product for the four transforms, gates in order i, f, c, o.
        z = ops.add(ops.matmul(inputs, self.kernel), ops.matmul(h_tm1, self.recurrent_kernel))
        if self.use_bias:
            z = ops.add(z, self.bias)

        if self.peephole == "diagonal":
            z_i, z_f, z_c, z_o = ops.split(z, 4, axis=-1)
            p_i = self.input_gate_peephole_weights
            p_f = self.forget_gate_peephole_weights
            p_o = self.output_gate_peephole_weights
            i = self.recurrent_activation(z_i + p_i * c_tm1)
            f = self.recurrent_activation(z_f + p_f * c_tm1)
            c = f * c_tm1 + i * self.activation(z_c)
            o = self.recurrent_activation(z_o + p_o * c)
        else:
            three = 3 * self.units
            z_ifc = z[:, :three] + ops.matmul(c_tm1, self.peephole_kernel[:, :three])
            z_i, z_f, z_c = ops.split(z_ifc, 3, axis=-1)
            i = self.recurrent_activation(z_i)
            f = self.recurrent_activation(z_f)
            c = f * c_tm1 + i * self.activation(z_c)
            o = self.recurrent_activation(z[:, three:] + ops.matmul(c, self.peephole_kernel[:, three:]))
        h = o * self.activation(c)
        return h, [h, c]

    def get_initial_state(self, batch_size=None):
        return [ops.zeros((batch_size, size), dtype=self.compute_dtype) for size in self.state_size]

    def get_config(self):
        config = {
            "units": self.units,
            "activation": activations.serialize(self.activation),
            "recurrent_activation": activations.serialize(self.recurrent_activation),
            "use_bias": self.use_bias,
            "peephole": self.peephole,
            "kernel_initializer": initializers.serialize(self.kernel_initializer),
            "recurrent_initializer": initializers.serialize(self.recurrent_initializer),
            "peephole_initializer": initializers.serialize(self.peephole_initializer),
            "bias_initializer": initializers.serialize(self.bias_initializer),
            "unit_forget_bias": self.unit_forget_bias,
            "kernel_regularizer": regularizers.serialize(self.kernel_regularizer),
            "recurrent_regularizer": regularizers.serialize(self.recurrent_regularizer),
            "peephole_regularizer": regularizers.serialize(self.peephole_regularizer),
            "bias_regularizer": regularizers.serialize(self.bias_regularizer),
            "kernel_constraint": constraints.serialize(self.kernel_constraint),
            "recurrent_constraint": constraints.serialize(self.recurrent_constraint),
            "peephole_constraint": constraints.serialize(self.peephole_constraint),
            "bias_constraint": constraints.serialize(self.bias_constraint),
            "dropout": self.dropout,
            "recurrent_dropout": self.recurrent_dropout,
            "seed": self.seed,
        }
        base_config = super().get_config()
        return {**base_config, **config}


_CELL_ARGUMENTS = (
    "units",
    "activation",
    "recurrent_activation",
    "use_bias",
    "peephole",
    "kernel_initializer",
    "recurrent_initializer",
    "peephole_initializer",
    "bias_initializer",
    "unit_forget_bias",
    "kernel_regularizer",
    "recurrent_regularizer",
    "peephole_regularizer",
    "bias_regularizer",
    "kernel_constraint",
    "recurrent_constraint",
    "peephole_constraint",
    "bias_constraint",
    "dropout",
    "recurrent_dropout",
    "seed",
)


@keras.saving.register_keras_serializable(package="custom_layers")
class PeepholeLSTM(ProjectedLoop, PerSequenceDropoutRNN, keras.layers.RNN):
    """Peephole LSTM layer (Gers, Schraudolph and Schmidhuber 2002).

    Runs `PeepholeLSTMCell` over a sequence. In the default diagonal mode,
    for every step `t`:

    ```
    i_t = sigma(W_i x_t + U_i h_{t-1} + p_i * c_{t-1} + b_i)
    f_t = sigma(W_f x_t + U_f h_{t-1} + p_f * c_{t-1} + b_f)
    c_t = f_t * c_{t-1} + i_t * g(W_c x_t + U_c h_{t-1} + b_c)
    o_t = sigma(W_o x_t + U_o h_{t-1} + p_o * c_t + b_o)
    h_t = o_t * g(c_t)
    ```

    `peephole="full"` replaces each `p * c` by a full matrix product `P c`
    (the transforms read `[x_t, h_{t-1}, c]` concatenated; i, f and the cell
    input read `c_{t-1}`, o reads `c_t`). See `PeepholeLSTMCell`.

    `get_weights()` returns `[kernel, recurrent_kernel, bias,
    input_gate_peephole_weights, forget_gate_peephole_weights,
    output_gate_peephole_weights]` (no `bias` when `use_bias=False`;
    `[kernel, recurrent_kernel, bias, peephole_kernel]` in full mode). The
    first three are laid out as in `keras.layers.LSTM` (gates i, f, c, o),
    and with the peepholes at zero the layer computes exactly what
    `keras.layers.LSTM` computes. To start from a trained LSTM of the same
    width and input size:

    ```python
    units = lstm.units
    peephole_lstm.set_weights(lstm.get_weights() + [np.zeros(units)] * 3)
    # full mode: lstm.get_weights() + [np.zeros((units, 4 * units))]
    ```

    Dropout masks are drawn once per sequence (the same units are dropped at
    every step, as in Gal and Ghahramani 2016), with the public
    `keras.random.dropout` and the cell's `keras.random.SeedGenerator`,
    before the loop starts; one input mask and one recurrent mask are shared
    by the four gates. With no dropout nothing is drawn or multiplied.

    Args:
        units: Positive integer, dimensionality of the output space.
        activation: Activation `g`. Default: `"tanh"`.
        recurrent_activation: Activation `sigma` of the gates.
            Default: `"sigmoid"`.
        use_bias: Boolean (default `True`), whether the layer uses a bias.
        peephole: `"diagonal"` (default) or `"full"`.
        kernel_initializer: Initializer for `kernel`.
            Default: `"glorot_uniform"`.
        recurrent_initializer: Initializer for `recurrent_kernel`.
            Default: `"orthogonal"`.
        peephole_initializer: Initializer for the peephole weights.
            Default: `"glorot_uniform"`.
        bias_initializer: Initializer for `bias`. Default: `"zeros"`.
        unit_forget_bias: Boolean (default `True`), add 1 to the forget gate
            bias at initialization.
        kernel_regularizer: Regularizer for `kernel`.
        recurrent_regularizer: Regularizer for `recurrent_kernel`.
        peephole_regularizer: Regularizer for the peephole weights.
        bias_regularizer: Regularizer for `bias`.
        activity_regularizer: Regularizer for the output of the layer.
        kernel_constraint: Constraint for `kernel`.
        recurrent_constraint: Constraint for `recurrent_kernel`.
        peephole_constraint: Constraint for the peephole weights.
        bias_constraint: Constraint for `bias`.
        dropout: Float in [0, 1), fraction of the input units to drop.
        recurrent_dropout: Float in [0, 1), fraction of the units of
            `h_{t-1}` to drop in the recurrent transform.
        seed: Random seed for dropout.
        return_sequences: Boolean (default `False`), return the whole
            sequence of outputs instead of the last one.
        return_state: Boolean (default `False`), also return the last states
            `h` and `c`.
        go_backwards: Boolean (default `False`), process the sequence
            backwards and return the reversed sequence.
        stateful: Boolean (default `False`), the last states of a batch are
            the initial states of the next one.
        unroll: Boolean (default `False`), unroll the loop (short sequences
            only).

    Call arguments:
        sequences: A 3D tensor `(batch, timesteps, features)`.
        initial_state: Optional list `[h_0, c_0]` of tensors
            `(batch, units)`; zeros if absent.
        mask: Optional boolean tensor `(batch, timesteps)`; a `False` step
            changes neither the states nor the output (it repeats the
            previous one). `Embedding(mask_zero=True)` provides it.
        training: Python boolean, whether dropout applies.

    Example:

    >>> inputs = np.random.random((32, 10, 8))
    >>> layer = PeepholeLSTM(4, return_sequences=True, return_state=True)
    >>> outputs, last_h, last_c = layer(inputs)
    >>> outputs.shape, last_h.shape, last_c.shape
    ((32, 10, 4), (32, 4), (32, 4))

    In a tagger: `keras.layers.Bidirectional(PeepholeLSTM(128,
    return_sequences=True))` after an `Embedding(..., mask_zero=True)`.
    """

    def __init__(
        self,
        units,
        activation="tanh",
        recurrent_activation="sigmoid",
        use_bias=True,
        peephole="diagonal",
        kernel_initializer="glorot_uniform",
        recurrent_initializer="orthogonal",
        peephole_initializer="glorot_uniform",
        bias_initializer="zeros",
        unit_forget_bias=True,
        kernel_regularizer=None,
        recurrent_regularizer=None,
        peephole_regularizer=None,
        bias_regularizer=None,
        activity_regularizer=None,
        kernel_constraint=None,
        recurrent_constraint=None,
        peephole_constraint=None,
        bias_constraint=None,
        dropout=0.0,
        recurrent_dropout=0.0,
        seed=None,
        return_sequences=False,
        return_state=False,
        go_backwards=False,
        stateful=False,
        unroll=False,
        **kwargs,
    ):
        cell = PeepholeLSTMCell(
            units,
            activation=activation,
            recurrent_activation=recurrent_activation,
            use_bias=use_bias,
            peephole=peephole,
            kernel_initializer=kernel_initializer,
            recurrent_initializer=recurrent_initializer,
            peephole_initializer=peephole_initializer,
            bias_initializer=bias_initializer,
            unit_forget_bias=unit_forget_bias,
            kernel_regularizer=kernel_regularizer,
            recurrent_regularizer=recurrent_regularizer,
            peephole_regularizer=peephole_regularizer,
            bias_regularizer=bias_regularizer,
            kernel_constraint=kernel_constraint,
            recurrent_constraint=recurrent_constraint,
            peephole_constraint=peephole_constraint,
            bias_constraint=bias_constraint,
            dropout=dropout,
            recurrent_dropout=recurrent_dropout,
            seed=seed,
            dtype=kwargs.get("dtype", None),
            trainable=kwargs.get("trainable", True),
            name="peephole_lstm_cell",
        )
        super().__init__(
            cell,
            return_sequences=return_sequences,
            return_state=return_state,
            go_backwards=go_backwards,
            stateful=stateful,
            unroll=unroll,
            activity_regularizer=activity_regularizer,
            **kwargs,
        )
        self.input_spec = keras.layers.InputSpec(ndim=3)

    def call(self, sequences, initial_state=None, mask=None, training=False):
        return super().call(sequences, mask=mask, training=training, initial_state=initial_state)

    # The loop over time steps (`custom_layers.projected_rnn`): `x_t W + b` for every step before it, and
    # what `PeepholeLSTMCell.call` does with the rest inside it, with a leading direction axis.

    def recurrent_weights(self):
        cell = self.cell
        if cell.peephole == "diagonal":
            peepholes = (
                cell.input_gate_peephole_weights,
                cell.forget_gate_peephole_weights,
                cell.output_gate_peephole_weights,
            )
            return (cell.recurrent_kernel, *peepholes)
        return cell.recurrent_kernel, cell.peephole_kernel

    def projected_step(self, x_t, states, recurrent):
        cell = self.cell
        h_tm1, c_tm1 = states
        gate, activation = cell.recurrent_activation, cell.activation
        z = x_t + ops.matmul(h_tm1, recurrent[0])
        if cell.peephole == "diagonal":
            _, p_i, p_f, p_o = recurrent
            z_i, z_f, z_c, z_o = ops.split(z, 4, axis=-1)
            i = gate(z_i + p_i * c_tm1)
            f = gate(z_f + p_f * c_tm1)
            c = f * c_tm1 + i * activation(z_c)
            o = gate(z_o + p_o * c)
        else:
            peephole_kernel, three = recurrent[1], 3 * cell.units
            z_i, z_f, z_c = ops.split(z[..., :three] + ops.matmul(c_tm1, peephole_kernel[..., :three]), 3, axis=-1)
            i, f = gate(z_i), gate(z_f)
            c = f * c_tm1 + i * activation(z_c)
            o = gate(z[..., three:] + ops.matmul(c, peephole_kernel[..., three:]))
        h = o * activation(c)
        return h, [h, c]

    @property
    def units(self):
        return self.cell.units

    @property
    def activation(self):
        return self.cell.activation

    @property
    def recurrent_activation(self):
        return self.cell.recurrent_activation

    @property
    def use_bias(self):
        return self.cell.use_bias

    @property
    def peephole(self):
        return self.cell.peephole

    @property
    def unit_forget_bias(self):
        return self.cell.unit_forget_bias

    @property
    def dropout(self):
        return self.cell.dropout

    @property
    def recurrent_dropout(self):
        return self.cell.recurrent_dropout

    @property
    def seed(self):
        return self.cell.seed

    def get_config(self):
        cell_config = self.cell.get_config()
        config = {name: cell_config[name] for name in _CELL_ARGUMENTS}
        config["activity_regularizer"] = regularizers.serialize(self.activity_regularizer)
        base_config = super().get_config()
        del base_config["cell"]
        return {**base_config, **config}

    @classmethod
    def from_config(cls, config):
        return cls(**config)
