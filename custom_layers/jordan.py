"""The Jordan network (Jordan 1986) as a Keras layer.

A Jordan network feeds its previous *output* back into its hidden layer,
where an Elman network (`keras.layers.SimpleRNN`) feeds back its previous
hidden layer. Mesnil et al. (2013, 2015) used both for slot filling; in a
tagger the Jordan memory is the label distribution of the previous word.

`JordanRNNCell` processes one time step and `JordanRNN` runs it over a
sequence through `keras.layers.RNN`, the way `keras.layers.SimpleRNNCell`
and `keras.layers.SimpleRNN` are built.
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


@keras.saving.register_keras_serializable(package="custom_layers")
class JordanRNNCell(PerSequenceDropoutCell, keras.layers.Layer):
    """Cell class for the Jordan network: one time step.

    ```
    h_t = act(W x_t + U y_{t-1} + b)
    y_t = out_act(V h_t + c)
    ```

    The memory carried from step to step is `y_{t-1}`, the previous output
    of the network, of width `output_units`; it starts at zero. `act` is
    `activation` and `out_act` is `output_activation` (softmax by default,
    so the memory is the previous label distribution).

    Weights, in the order `get_weights()` returns them (no `bias` and no
    `output_bias` when `use_bias=False`):

    - `kernel`, shape `(input_dim, units)`: `W`.
    - `recurrent_kernel`, shape `(output_units, units)`: `U`.
    - `bias`, shape `(units,)`: `b`.
    - `output_kernel`, shape `(units, output_units)`: `V`.
    - `output_bias`, shape `(output_units,)`: `c`.

    Dropout: the cell multiplies `x_t` by one input mask and `y_{t-1}` by one
    recurrent mask, the same masks at every step of a sequence. The masks are
    drawn once per sequence by `JordanRNN` with `keras.random.dropout` and the
    cell's `keras.random.SeedGenerator`; a cell run by a plain
    `keras.layers.RNN` cannot draw them inside the loop on every backend, so
    it raises a `ValueError` when asked for dropout in training: use
    `JordanRNN` there. With `dropout=0` and `recurrent_dropout=0` no mask is
    drawn and nothing is multiplied.

    Args:
        units: Positive integer, width of the hidden layer `h`.
        output_units: Positive integer, width of the output `y` (and of the
            memory), for a tagger the number of tags.
        activation: Activation `act` of the hidden layer. Default: `"tanh"`.
        output_activation: Activation `out_act` of the output.
            Default: `"softmax"`. `None` or `"linear"` means none.
        use_bias: Boolean (default `True`), whether the hidden and the output
            transforms use biases (`b` and `c`).
        kernel_initializer: Initializer for `kernel`.
            Default: `"glorot_uniform"`.
        recurrent_initializer: Initializer for `recurrent_kernel`.
            Default: `"orthogonal"`.
        output_initializer: Initializer for `output_kernel`.
            Default: `"glorot_uniform"`.
        bias_initializer: Initializer for `bias`. Default: `"zeros"`.
        output_bias_initializer: Initializer for `output_bias`.
            Default: `"zeros"`.
        kernel_regularizer: Regularizer for `kernel`. Default: `None`.
        recurrent_regularizer: Regularizer for `recurrent_kernel`.
        output_regularizer: Regularizer for `output_kernel`.
        bias_regularizer: Regularizer for `bias`.
        output_bias_regularizer: Regularizer for `output_bias`.
        kernel_constraint: Constraint for `kernel`. Default: `None`.
        recurrent_constraint: Constraint for `recurrent_kernel`.
        output_constraint: Constraint for `output_kernel`.
        bias_constraint: Constraint for `bias`.
        output_bias_constraint: Constraint for `output_bias`.
        dropout: Float in [0, 1). Fraction of the input units to drop.
            Default: 0.
        recurrent_dropout: Float in [0, 1). Fraction of the units of the
            memory `y_{t-1}` to drop. Default: 0.
        seed: Random seed for dropout.

    Call arguments:
        inputs: A 2D tensor `x_t`, with shape `(batch, features)`.
        states: A list of one 2D tensor `[y_{t-1}]`, shape
            `(batch, output_units)`.
        training: Python boolean, whether dropout applies.

    Example:

    >>> inputs = np.random.random((32, 10, 8))
    >>> rnn = keras.layers.RNN(JordanRNNCell(16, output_units=5))
    >>> rnn(inputs).shape
    (32, 5)
    """

    sequence_layer = "JordanRNN"  # runs this cell over sequences, drawing its dropout masks

    def __init__(
        self,
        units,
        output_units,
        activation="tanh",
        output_activation="softmax",
        use_bias=True,
        kernel_initializer="glorot_uniform",
        recurrent_initializer="orthogonal",
        output_initializer="glorot_uniform",
        bias_initializer="zeros",
        output_bias_initializer="zeros",
        kernel_regularizer=None,
        recurrent_regularizer=None,
        output_regularizer=None,
        bias_regularizer=None,
        output_bias_regularizer=None,
        kernel_constraint=None,
        recurrent_constraint=None,
        output_constraint=None,
        bias_constraint=None,
        output_bias_constraint=None,
        dropout=0.0,
        recurrent_dropout=0.0,
        seed=None,
        **kwargs,
    ):
        check_positive_integer("units", units)
        check_positive_integer("output_units", output_units)
        check_rate("dropout", dropout)
        check_rate("recurrent_dropout", recurrent_dropout)
        super().__init__(**kwargs)
        self.units = int(units)
        self.output_units = int(output_units)
        self.activation = activations.get(activation)
        self.output_activation = activations.get(output_activation)
        self.use_bias = use_bias

        self.kernel_initializer = initializers.get(kernel_initializer)
        self.recurrent_initializer = initializers.get(recurrent_initializer)
        self.output_initializer = initializers.get(output_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.output_bias_initializer = initializers.get(output_bias_initializer)

        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.recurrent_regularizer = regularizers.get(recurrent_regularizer)
        self.output_regularizer = regularizers.get(output_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.output_bias_regularizer = regularizers.get(output_bias_regularizer)

        self.kernel_constraint = constraints.get(kernel_constraint)
        self.recurrent_constraint = constraints.get(recurrent_constraint)
        self.output_constraint = constraints.get(output_constraint)
        self.bias_constraint = constraints.get(bias_constraint)
        self.output_bias_constraint = constraints.get(output_bias_constraint)

        self.dropout = float(dropout)
        self.recurrent_dropout = float(recurrent_dropout)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed=seed)

        self.state_size = self.output_units
        self.output_size = self.output_units

    def build(self, input_shape):
        self.kernel = self.add_weight(
            shape=(input_shape[-1], self.units),
            name="kernel",
            initializer=self.kernel_initializer,
            regularizer=self.kernel_regularizer,
            constraint=self.kernel_constraint,
        )
        self.recurrent_kernel = self.add_weight(
            shape=(self.output_units, self.units),
            name="recurrent_kernel",
            initializer=self.recurrent_initializer,
            regularizer=self.recurrent_regularizer,
            constraint=self.recurrent_constraint,
        )
        if self.use_bias:
            self.bias = self.add_weight(
                shape=(self.units,),
                name="bias",
                initializer=self.bias_initializer,
                regularizer=self.bias_regularizer,
                constraint=self.bias_constraint,
            )
        else:
            self.bias = None
        self.output_kernel = self.add_weight(
            shape=(self.units, self.output_units),
            name="output_kernel",
            initializer=self.output_initializer,
            regularizer=self.output_regularizer,
            constraint=self.output_constraint,
        )
        if self.use_bias:
            self.output_bias = self.add_weight(
                shape=(self.output_units,),
                name="output_bias",
                initializer=self.output_bias_initializer,
                regularizer=self.output_bias_regularizer,
                constraint=self.output_bias_constraint,
            )
        else:
            self.output_bias = None

    def call(self, inputs, states, training=False):
        # Previous output y_{t-1}, the Jordan memory.
        y_tm1 = states[0] if isinstance(states, (list, tuple)) else states
        inputs, y_tm1 = self.apply_dropout(inputs, y_tm1, training)

        hidden = ops.add(ops.matmul(inputs, self.kernel), ops.matmul(y_tm1, self.recurrent_kernel))
        if self.use_bias:
            hidden = ops.add(hidden, self.bias)
        hidden = self.activation(hidden)

        output = ops.matmul(hidden, self.output_kernel)
        if self.use_bias:
            output = ops.add(output, self.output_bias)
        output = self.output_activation(output)

        new_state = [output] if isinstance(states, (list, tuple)) else output
        return output, new_state

    def get_initial_state(self, batch_size=None):
        return [ops.zeros((batch_size, self.output_units), dtype=self.compute_dtype)]

    def get_config(self):
        config = {
            "units": self.units,
            "output_units": self.output_units,
            "activation": activations.serialize(self.activation),
            "output_activation": activations.serialize(self.output_activation),
            "use_bias": self.use_bias,
            "kernel_initializer": initializers.serialize(self.kernel_initializer),
            "recurrent_initializer": initializers.serialize(self.recurrent_initializer),
            "output_initializer": initializers.serialize(self.output_initializer),
            "bias_initializer": initializers.serialize(self.bias_initializer),
            "output_bias_initializer": initializers.serialize(self.output_bias_initializer),
            "kernel_regularizer": regularizers.serialize(self.kernel_regularizer),
            "recurrent_regularizer": regularizers.serialize(self.recurrent_regularizer),
            "output_regularizer": regularizers.serialize(self.output_regularizer),
            "bias_regularizer": regularizers.serialize(self.bias_regularizer),
            "output_bias_regularizer": regularizers.serialize(self.output_bias_regularizer),
            "kernel_constraint": constraints.serialize(self.kernel_constraint),
            "recurrent_constraint": constraints.serialize(self.recurrent_constraint),
            "output_constraint": constraints.serialize(self.output_constraint),
            "bias_constraint": constraints.serialize(self.bias_constraint),
            "output_bias_constraint": constraints.serialize(self.output_bias_constraint),
            "dropout": self.dropout,
            "recurrent_dropout": self.recurrent_dropout,
            "seed": self.seed,
        }
        base_config = super().get_config()
        return {**base_config, **config}


_CELL_ARGUMENTS = (
    "units",
    "output_units",
    "activation",
    "output_activation",
    "use_bias",
    "kernel_initializer",
    "recurrent_initializer",
    "output_initializer",
    "bias_initializer",
    "output_bias_initializer",
    "kernel_regularizer",
    "recurrent_regularizer",
    "output_regularizer",
    "bias_regularizer",
    "output_bias_regularizer",
    "kernel_constraint",
    "recurrent_constraint",
    "output_constraint",
    "bias_constraint",
    "output_bias_constraint",
    "dropout",
    "recurrent_dropout",
    "seed",
)


@keras.saving.register_keras_serializable(package="custom_layers")
class JordanRNN(ProjectedLoop, PerSequenceDropoutRNN, keras.layers.RNN):
    """Jordan network layer (Jordan 1986): the output is fed back.

    For every step `t`:

    ```
    h_t = act(W x_t + U y_{t-1} + b)
    y_t = out_act(V h_t + c)
    ```

    with `y_0 = 0`. The memory is `y_{t-1}`, the network's previous output,
    not its hidden layer `h_{t-1}` (feeding back `h_{t-1}` is the Elman
    network, `keras.layers.SimpleRNN`). The layer's output is `y_t`, of width
    `output_units`: in a tagger `output_units` can be the number of tags and
    `output_activation="softmax"` (the default) makes `y_t` the tag
    distribution of word `t` and the memory the previous word's.

    Combining Jordan layers:

    - `keras.layers.Bidirectional(JordanRNN(...))` runs one network forwards
      and one backwards, each with its own output memory, and concatenates
      their two label distributions (`merge_mode="concat"`) into a vector of
      width `2 * output_units` per word.
    - Stacked (`return_sequences=True`), each layer reads the previous
      layer's label distributions as its input sequence.
    - A tag head (`Dense(num_tags, activation="softmax")` or a CRF) reads
      these distributions; with one forward layer and
      `output_units=num_tags` the layer's own output can be the prediction.

    `get_weights()` returns `[kernel, recurrent_kernel, bias, output_kernel,
    output_bias]` (`[kernel, recurrent_kernel, output_kernel]` with
    `use_bias=False`) with shapes `(input_dim, units)`,
    `(output_units, units)`, `(units,)`, `(units, output_units)`,
    `(output_units,)`.

    Dropout masks are drawn once per sequence (the same units are dropped at
    every step), with the public `keras.random.dropout` and the cell's
    `keras.random.SeedGenerator`, before the loop starts: one mask on the
    input `x_t`, one on the memory `y_{t-1}`. With no dropout nothing is
    drawn or multiplied.

    Args:
        units: Positive integer, width of the hidden layer `h`.
        output_units: Positive integer, width of the output `y`.
        activation: Activation `act` of the hidden layer. Default: `"tanh"`.
        output_activation: Activation `out_act` of the output.
            Default: `"softmax"`.
        use_bias: Boolean (default `True`), whether `b` and `c` are used.
        kernel_initializer: Initializer for `kernel`.
            Default: `"glorot_uniform"`.
        recurrent_initializer: Initializer for `recurrent_kernel`.
            Default: `"orthogonal"`.
        output_initializer: Initializer for `output_kernel`.
            Default: `"glorot_uniform"`.
        bias_initializer: Initializer for `bias`. Default: `"zeros"`.
        output_bias_initializer: Initializer for `output_bias`.
            Default: `"zeros"`.
        kernel_regularizer: Regularizer for `kernel`.
        recurrent_regularizer: Regularizer for `recurrent_kernel`.
        output_regularizer: Regularizer for `output_kernel`.
        bias_regularizer: Regularizer for `bias`.
        output_bias_regularizer: Regularizer for `output_bias`.
        activity_regularizer: Regularizer for the output of the layer.
        kernel_constraint: Constraint for `kernel`.
        recurrent_constraint: Constraint for `recurrent_kernel`.
        output_constraint: Constraint for `output_kernel`.
        bias_constraint: Constraint for `bias`.
        output_bias_constraint: Constraint for `output_bias`.
        dropout: Float in [0, 1), fraction of the input units to drop.
        recurrent_dropout: Float in [0, 1), fraction of the memory units to
            drop.
        seed: Random seed for dropout.
        return_sequences: Boolean (default `False`), return the whole
            sequence of outputs instead of the last one.
        return_state: Boolean (default `False`), also return the last memory
            (equal to the last output).
        go_backwards: Boolean (default `False`), process the sequence
            backwards and return the reversed sequence.
        stateful: Boolean (default `False`), the last memory of a batch is
            the initial memory of the next one.
        unroll: Boolean (default `False`), unroll the loop (short sequences
            only).

    Call arguments:
        sequences: A 3D tensor `(batch, timesteps, features)`.
        initial_state: Optional initial memory `y_0`, a tensor
            `(batch, output_units)`; zeros if absent.
        mask: Optional boolean tensor `(batch, timesteps)`; a `False` step
            changes neither the memory nor the output (it repeats the
            previous one). `Embedding(mask_zero=True)` provides it.
        training: Python boolean, whether dropout applies.

    Example:

    >>> inputs = np.random.random((32, 10, 8))
    >>> layer = JordanRNN(64, output_units=9, return_sequences=True)
    >>> layer(inputs).shape
    (32, 10, 9)
    >>> tagger = keras.layers.Bidirectional(layer)
    >>> tagger(inputs).shape
    (32, 10, 18)
    """

    def __init__(
        self,
        units,
        output_units,
        activation="tanh",
        output_activation="softmax",
        use_bias=True,
        kernel_initializer="glorot_uniform",
        recurrent_initializer="orthogonal",
        output_initializer="glorot_uniform",
        bias_initializer="zeros",
        output_bias_initializer="zeros",
        kernel_regularizer=None,
        recurrent_regularizer=None,
        output_regularizer=None,
        bias_regularizer=None,
        output_bias_regularizer=None,
        activity_regularizer=None,
        kernel_constraint=None,
        recurrent_constraint=None,
        output_constraint=None,
        bias_constraint=None,
        output_bias_constraint=None,
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
        cell = JordanRNNCell(
            units,
            output_units,
            activation=activation,
            output_activation=output_activation,
            use_bias=use_bias,
            kernel_initializer=kernel_initializer,
            recurrent_initializer=recurrent_initializer,
            output_initializer=output_initializer,
            bias_initializer=bias_initializer,
            output_bias_initializer=output_bias_initializer,
            kernel_regularizer=kernel_regularizer,
            recurrent_regularizer=recurrent_regularizer,
            output_regularizer=output_regularizer,
            bias_regularizer=bias_regularizer,
            output_bias_regularizer=output_bias_regularizer,
            kernel_constraint=kernel_constraint,
            recurrent_constraint=recurrent_constraint,
            output_constraint=output_constraint,
            bias_constraint=bias_constraint,
            output_bias_constraint=output_bias_constraint,
            dropout=dropout,
            recurrent_dropout=recurrent_dropout,
            seed=seed,
            dtype=kwargs.get("dtype", None),
            trainable=kwargs.get("trainable", True),
            name="jordan_rnn_cell",
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

    # The loop over time steps (`custom_layers.projected_rnn`): `W x_t + b` for every step before it, and
    # what `JordanRNNCell.call` does with the rest inside it, with a leading direction axis.

    def recurrent_weights(self):
        cell = self.cell
        if cell.use_bias:
            return cell.recurrent_kernel, cell.output_kernel, cell.output_bias
        return cell.recurrent_kernel, cell.output_kernel

    def projected_step(self, x_t, states, recurrent):
        cell = self.cell
        hidden = cell.activation(x_t + ops.matmul(states[0], recurrent[0]))
        output = ops.matmul(hidden, recurrent[1])
        if len(recurrent) > 2:
            output = output + recurrent[2]
        output = cell.output_activation(output)
        return output, [output]

    @property
    def units(self):
        return self.cell.units

    @property
    def output_units(self):
        return self.cell.output_units

    @property
    def activation(self):
        return self.cell.activation

    @property
    def output_activation(self):
        return self.cell.output_activation

    @property
    def use_bias(self):
        return self.cell.use_bias

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
