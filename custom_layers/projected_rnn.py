"""Keras's `LSTM`, `GRU`, `SimpleRNN` and `Bidirectional`, with the loop over time steps made cheaper.

A recurrent layer spends most of its arithmetic on the input projection
`x_t W + b`: with the recipes' default word features (600 numbers a word) it
is about 70% of an LSTM's. Keras computes it inside the loop, one small matrix
product per time step. These layers compute it for all time steps at once, as
one large matrix product before the loop, so that only the recurrent product
`h_{t-1} U` is left inside it; `Bidirectional` also runs its two directions in
one loop, the forward sequence and the reversed one side by side, instead of
one loop after the other.

    import custom_layers
    x = custom_layers.Bidirectional(custom_layers.LSTM(256, return_sequences=True))(x)

`JordanRNN` and `PeepholeLSTM` run the same loop (they inherit `ProjectedLoop`),
so `Bidirectional` runs their two directions in one loop too.

Each of the four classes here subclasses the Keras layer of the same name and changes only how
the loop runs: the weights (names, shapes, order), the config, the masks and
the outputs are Keras's (to float rounding), so a Keras layer's weights load
into it and back, and a recipe that says `keras.layers.LSTM` instead still
trains the same model. The faster loop is taken when nothing asks for what it
does not do (dropout inside the cell while training, `unroll`, `stateful`, an
initial state or `return_state` given to `Bidirectional`, `use_cudnn=True`);
otherwise Keras's own loop runs.
"""

import keras
from keras import ops


def _stack(tensors):
    # Not `ops.stack`: under TensorFlow it cannot stack variables.
    tensors = [ops.expand_dims(tensor, 0) for tensor in tensors]
    return tensors[0] if len(tensors) == 1 else ops.concatenate(tensors, axis=0)


def run_directions(layers, sequences, initial_states, mask):
    """Runs one or more recurrent layers over the same sequences in one loop.

    Args:
        layers: projected recurrent layers of one class and one shape (a
            layer that goes backwards reads the sequence reversed, as Keras's
            `go_backwards` does).
        sequences: `(batch, time, features)`.
        initial_states: one list of state tensors per layer.
        mask: `(batch, time)` booleans, or None.

    Returns:
        Per layer, what Keras's `backend.rnn` returns: `(last_output,
        outputs, states)`, with `outputs` in the order the layer read the
        sequence.
    """
    first = layers[0]
    kernels, biases = zip(*(layer.input_weights() for layer in layers))
    # The input projection of every direction and time step: one matrix product.
    projected = ops.matmul(sequences, kernels[0] if len(layers) == 1 else ops.concatenate(kernels, axis=-1))
    if biases[0] is not None:
        projected = projected + (biases[0] if len(layers) == 1 else ops.concatenate(biases, axis=-1))
    parts = ops.split(projected, len(layers), axis=-1) if len(layers) > 1 else [projected]
    parts = [ops.flip(part, axis=1) if layer.go_backwards else part for part, layer in zip(parts, layers)]
    inputs = ops.transpose(_stack(parts), (2, 0, 1, 3))  # (time, direction, batch, gates)
    states = [_stack(list(direction_states)) for direction_states in zip(*initial_states)]
    recurrent = [_stack(list(weights)) for weights in zip(*(layer.recurrent_weights() for layer in layers))]
    # A vector among them (a bias, a peephole) goes into the loop broadcast to (direction, batch, n):
    # inside it, it is then added or multiplied element by element, and the backward pass adds up
    # its gradient the same way, summing over the batch once after the loop instead of at every step
    # (measured: a peephole LSTM's train step from 1.2-1.3x an LSTM's to 1.05-1.1x).
    batch = ops.shape(states[0])[1]
    recurrent = [
        ops.broadcast_to(ops.expand_dims(weights, 1), (len(layers), batch, weights.shape[-1]))
        if len(weights.shape) == 2
        else weights
        for weights in recurrent
    ]
    zero_output = first.zero_output_for_mask
    # Two limits of Keras's `ops.scan` under TensorFlow: each step's output must be shaped like the carry,
    # and with an unknown number of steps it scans one tensor only. There the carry holds the last output
    # too (every step returns all of it), and the mask rides on the projected inputs as one more feature.
    tensorflow = keras.backend.backend() == "tensorflow"
    xs = inputs
    if mask is not None:
        mask = ops.cast(mask, "bool")
        masks = [ops.flip(mask, axis=1) if layer.go_backwards else mask for layer in layers]
        keeps = ops.transpose(_stack(masks), (2, 0, 1))[..., None]  # (time, direction, batch, 1)
        xs = ops.concatenate([inputs, ops.cast(keeps, inputs.dtype)], axis=-1) if tensorflow else (inputs, keeps)

    def step(carry, x_t):
        if tensorflow:
            carry = carry[1:]  # the last output is also the first state, `carry[0]`, as in Keras's loop
        if mask is None:
            output, new_states = first.projected_step(x_t, carry, recurrent)
        else:
            x_t, keep = (x_t[..., :-1], x_t[..., -1:] > 0.5) if tensorflow else x_t
            output, new_states = first.projected_step(x_t, carry, recurrent)
            # What Keras's loop does on a padded step: the states stay, the output is zero or the last one.
            new_states = [ops.where(keep, new, old) for new, old in zip(new_states, carry)]
            output = ops.where(keep, output, ops.zeros_like(output) if zero_output else carry[0])
        if tensorflow:
            new_states = [output, *new_states]
            return new_states, new_states
        return new_states, output

    if tensorflow:
        states = [ops.zeros_like(states[0]), *states]
    final_states, outputs = ops.scan(step, states, xs)
    if tensorflow:
        final_states, outputs = final_states[1:], outputs[0]
    outputs = ops.transpose(outputs, (1, 2, 0, 3))  # (direction, batch, time, units)
    return [
        (outputs[index][:, -1], outputs[index], [state[index] for state in final_states])
        for index in range(len(layers))
    ]


class ProjectedLoop:
    """What the projected layers share: when the projected loop may run, and running it for one layer.

    A subclass gives `input_weights()` (the kernel and bias of `x_t W + b`;
    by default the cell's `kernel` and `bias`), `recurrent_weights()` (what the step reads besides the states, each
    stacked per direction by `run_directions`, a vector also broadcast over the batch) and `projected_step(x_t,
    states, recurrent)`, whose tensors carry a leading direction axis.
    """

    projected_loop = True  # False: always Keras's loop (`with_keras_layers` sets it; not saved)

    def input_weights(self):
        return self.cell.kernel, self.cell.bias if self.cell.use_bias else None

    def can_project(self, training):
        cell = self.cell
        dropout = cell.dropout > 0 or cell.recurrent_dropout > 0
        return self.projected_loop and not (
            (dropout and training is not False)
            or self.unroll
            or self.stateful
            or getattr(self, "use_cudnn", "auto") is True
        )

    def inner_loop(self, sequences, initial_state, mask, training=False):
        if not self.can_project(training):
            return super().inner_loop(sequences, initial_state, mask=mask, training=training)
        if isinstance(mask, (list, tuple)):
            mask = mask[0]
        return run_directions([self], sequences, [list(initial_state)], mask)[0]


@keras.saving.register_keras_serializable(package="custom_layers")
class LSTM(ProjectedLoop, keras.layers.LSTM):
    """`keras.layers.LSTM` with its input projection taken out of the loop (see the module's docstring)."""

    def recurrent_weights(self):
        return (self.cell.recurrent_kernel,)

    def projected_step(self, x_t, states, recurrent):
        (recurrent_kernel,) = recurrent
        h_tm1, c_tm1 = states
        z = x_t + ops.matmul(h_tm1, recurrent_kernel)
        z_i, z_f, z_c, z_o = ops.split(z, 4, axis=-1)
        gate, activation = self.cell.recurrent_activation, self.cell.activation
        c = gate(z_f) * c_tm1 + gate(z_i) * activation(z_c)
        h = gate(z_o) * activation(c)
        return h, [h, c]


@keras.saving.register_keras_serializable(package="custom_layers")
class GRU(ProjectedLoop, keras.layers.GRU):
    """`keras.layers.GRU` with its input projection taken out of the loop (see the module's docstring)."""

    def input_weights(self):
        cell = self.cell
        if not cell.use_bias:
            return cell.kernel, None
        return cell.kernel, cell.bias[0] if cell.reset_after else cell.bias

    def recurrent_weights(self):
        cell = self.cell
        if cell.use_bias and cell.reset_after:
            return cell.recurrent_kernel, cell.bias[1]  # the recurrent bias
        return (cell.recurrent_kernel,)

    def projected_step(self, x_t, states, recurrent):
        cell = self.cell
        (h_tm1,) = states
        recurrent_kernel = recurrent[0]
        units = cell.units
        x_z, x_r, x_h = ops.split(x_t, 3, axis=-1)
        if cell.reset_after:
            inner = ops.matmul(h_tm1, recurrent_kernel)
            if len(recurrent) > 1:
                inner = inner + recurrent[1]
            r_z, r_r, r_h = ops.split(inner, 3, axis=-1)
        else:
            r_z, r_r = ops.split(ops.matmul(h_tm1, recurrent_kernel[..., : 2 * units]), 2, axis=-1)
        z = cell.recurrent_activation(x_z + r_z)
        r = cell.recurrent_activation(x_r + r_r)
        if cell.reset_after:
            candidate = cell.activation(x_h + r * r_h)
        else:
            candidate = cell.activation(x_h + ops.matmul(r * h_tm1, recurrent_kernel[..., 2 * units :]))
        h = z * h_tm1 + (1 - z) * candidate
        return h, [h]


@keras.saving.register_keras_serializable(package="custom_layers")
class SimpleRNN(ProjectedLoop, keras.layers.SimpleRNN):
    """`keras.layers.SimpleRNN` (the Elman network) with its input projection taken out of the loop."""

    def recurrent_weights(self):
        return (self.cell.recurrent_kernel,)

    def projected_step(self, x_t, states, recurrent):
        h = x_t + ops.matmul(states[0], recurrent[0])
        if self.cell.activation is not None:
            h = self.cell.activation(h)
        return h, [h]


@keras.saving.register_keras_serializable(package="custom_layers")
class Bidirectional(keras.layers.Bidirectional):
    """`keras.layers.Bidirectional` that runs both directions in one loop when both are projected layers.

    The weights, config and outputs are those of `keras.layers.Bidirectional`
    around the same layers; with any other layer, or when one direction
    cannot take the projected loop, it is Keras's `Bidirectional`.
    """

    def call(self, sequences, initial_state=None, mask=None, training=None):
        forward, backward = self.forward_layer, self.backward_layer
        if not (
            isinstance(forward, ProjectedLoop)
            and type(forward) is type(backward)
            and initial_state is None
            and not self.return_state
            and forward.can_project(training)
            and backward.can_project(training)
            and forward.zero_output_for_mask == backward.zero_output_for_mask
            and forward.cell.units == backward.cell.units
        ):
            return super().call(sequences, initial_state=initial_state, mask=mask, training=training)
        if isinstance(mask, (list, tuple)):
            mask = mask[0]
        batch = ops.shape(sequences)[0]
        states = [list(layer.get_initial_state(batch_size=batch)) for layer in (forward, backward)]
        (last, outputs, _), (last_rev, outputs_rev, _) = run_directions([forward, backward], sequences, states, mask)
        if self.return_sequences:
            y, y_rev = outputs, ops.flip(outputs_rev, axis=1)
        else:
            y, y_rev = last, last_rev
        y, y_rev = ops.cast(y, self.compute_dtype), ops.cast(y_rev, self.compute_dtype)
        # The merge of Keras's `Bidirectional.call`, which keeps it inline there.
        if self.merge_mode == "concat":
            return ops.concatenate([y, y_rev], axis=-1)
        if self.merge_mode == "sum":
            return y + y_rev
        if self.merge_mode == "ave":
            return (y + y_rev) / 2
        if self.merge_mode == "mul":
            return y * y_rev
        return (y, y_rev)


KERAS_LAYERS = {LSTM: keras.layers.LSTM, GRU: keras.layers.GRU, SimpleRNN: keras.layers.SimpleRNN}


def with_keras_layers(model):
    """A copy of `model` with Keras's own layers in place of this module's, holding the same weights;
    layers of their own that use the projected loop (`JordanRNN`, `PeepholeLSTM`) run Keras's loop.

    For converters that know Keras's loop and not `ops.scan`'s (tf2onnx turns
    the `TensorArray` carry of `ops.scan` under TensorFlow into an ONNX model
    that does not load). The copy computes what `model` computes.
    """

    def clone(layer):
        if isinstance(layer, Bidirectional):
            config = layer.get_config()
            for key in ("layer", "backward_layer"):
                if key in config:
                    inner = keras.saving.deserialize_keras_object(config[key])
                    config[key] = keras.saving.serialize_keras_object(clone(inner))
            copy = keras.layers.Bidirectional.from_config(config)
            for inner in (copy.forward_layer, copy.backward_layer):
                if isinstance(inner, ProjectedLoop):
                    inner.projected_loop = False
            return copy
        copy = KERAS_LAYERS.get(type(layer), type(layer)).from_config(layer.get_config())
        if isinstance(copy, ProjectedLoop):  # a layer of its own (JordanRNN, PeepholeLSTM): Keras's loop
            copy.projected_loop = False
        return copy

    copy = keras.models.clone_model(model, clone_function=clone)
    copy.set_weights(model.get_weights())
    return copy
