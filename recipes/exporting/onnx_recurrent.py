"""ONNX's own `LSTM`, `GRU` and `RNN` nodes for the recurrent layers, one direction or `Bidirectional`.

A node runs a whole sequence, both directions and the sentence lengths
(`sequence_lens`) included, in one compiled kernel. The Keras weights are
regrouped into ONNX's gate order; the peephole LSTM's diagonal peepholes are
ONNX's `P`. A layer ONNX has no node for (the Jordan network, a full-matrix
peephole, other activations) raises `Unsupported`.
"""

import keras
import numpy as np

import custom_layers
from recipes.exporting.onnx_builder import ACTIVATIONS, Unsupported, activation_name, weights


def _gate_blocks(matrix, order, units):
    """The columns of a Keras kernel (inputs, gates * units) regrouped in ONNX's gate `order`
    and transposed to ONNX's (gates * units, inputs)."""
    blocks = [matrix[:, index * units : (index + 1) * units] for index in order]
    return np.concatenate(blocks, axis=1).T


def _recurrent_kind(layer):
    """ "LSTM", "GRU" or "RNN" (ONNX's node) for a one-direction recurrent layer, checked; else `Unsupported`."""
    if not isinstance(layer, keras.layers.RNN) or isinstance(layer, custom_layers.JordanRNN):
        raise Unsupported(f"{type(layer).__name__} {layer.name!r} has no ONNX recurrent node")
    if layer.stateful or not layer.return_sequences or layer.return_state:
        raise Unsupported(f"{layer.name!r}: only return_sequences=True, stateless layers are written")
    cell = layer.cell
    if isinstance(layer, custom_layers.PeepholeLSTM):
        if cell.peephole != "diagonal":
            raise Unsupported(f"{layer.name!r}: a full-matrix peephole has no ONNX form (ONNX peepholes are diagonal)")
        kind = "LSTM"
    elif isinstance(layer, keras.layers.LSTM):
        kind = "LSTM"
    elif isinstance(layer, keras.layers.GRU):
        kind = "GRU"
    elif isinstance(layer, keras.layers.SimpleRNN):
        kind = "RNN"
    else:
        raise Unsupported(f"{type(layer).__name__} {layer.name!r} has no ONNX recurrent node")
    activation = activation_name(cell.activation)
    recurrent = activation_name(getattr(cell, "recurrent_activation", "sigmoid"))
    if activation not in ACTIVATIONS or recurrent != "sigmoid":
        raise Unsupported(f"{layer.name!r}: activations {activation!r}/{recurrent!r} are not written")
    return kind


def _direction_weights(layer, kind):
    """ONNX's W, R, B (and P for a peephole LSTM) of one direction, without the direction axis."""
    cell, units = layer.cell, layer.cell.units
    kernel, recurrent = weights(cell.kernel), weights(cell.recurrent_kernel)
    if kind == "LSTM":  # Keras's gates i, f, c, o; ONNX's i, o, f, c
        order = (0, 3, 1, 2)
        w, r = _gate_blocks(kernel, order, units), _gate_blocks(recurrent, order, units)
        if cell.use_bias:
            bias = weights(cell.bias)[np.concatenate([np.arange(i * units, (i + 1) * units) for i in order])]
        else:
            bias = np.zeros(4 * units, np.float32)
        b = np.concatenate([bias, np.zeros(4 * units, np.float32)])
        if isinstance(layer, custom_layers.PeepholeLSTM):
            peepholes = (
                cell.input_gate_peephole_weights,
                cell.output_gate_peephole_weights,
                cell.forget_gate_peephole_weights,
            )
            return w, r, b, np.concatenate([weights(p) for p in peepholes])
        return w, r, b, None
    if kind == "GRU":  # gates z, r, h in both
        w, r = kernel.T, recurrent.T
        if not cell.use_bias:
            b = np.zeros(6 * units, np.float32)
        elif cell.reset_after:
            b = weights(cell.bias).reshape(-1)  # (2, 3 units): input bias, then recurrent bias
        else:
            b = np.concatenate([weights(cell.bias), np.zeros(3 * units, np.float32)])
        return w, r, b, None
    b = weights(cell.bias) if cell.use_bias else np.zeros(units, np.float32)
    return kernel.T, recurrent.T, np.concatenate([b, np.zeros(units, np.float32)]), None


def emit_recurrent(ctx, layer, sequences):
    """A recurrent layer, or `Bidirectional` around one (outputs concatenated), as one ONNX node."""
    b = ctx.builder
    if isinstance(layer, keras.layers.Bidirectional):
        if layer.merge_mode != "concat":
            raise Unsupported(f"{layer.name!r}: merge_mode {layer.merge_mode!r} (only 'concat' is written)")
        directions, direction = [layer.forward_layer, layer.backward_layer], "bidirectional"
    else:
        if getattr(layer, "go_backwards", False):
            raise Unsupported(f"{layer.name!r}: go_backwards outside Bidirectional is not written")
        directions, direction = [layer], "forward"
    kinds = {_recurrent_kind(one) for one in directions}
    if len(kinds) != 1:
        raise Unsupported(f"{layer.name!r}: two directions of different kinds")
    kind = kinds.pop()
    cell = directions[0].cell
    parts = [_direction_weights(one, kind) for one in directions]
    stacked = [np.stack([part[i] for part in parts]).astype(np.float32) for i in range(3)]
    inputs = [b.add("Transpose", [sequences], perm=[1, 0, 2])]  # ONNX's recurrent nodes are time-major
    inputs += [b.constant(array, name) for array, name in zip(stacked, ("W", "R", "B"))]
    inputs.append(ctx.lengths)
    attributes = {"direction": direction, "hidden_size": cell.units}
    activation = ACTIVATIONS[activation_name(cell.activation)]
    if kind == "LSTM":
        attributes["activations"] = ["Sigmoid", activation, activation] * len(directions)
        if parts[0][3] is not None:
            inputs += ["", "", b.constant(np.stack([part[3] for part in parts]), "P")]
    elif kind == "GRU":
        attributes["activations"] = ["Sigmoid", activation] * len(directions)
        attributes["linear_before_reset"] = int(cell.reset_after)
    else:
        attributes["activations"] = [activation] * len(directions)
    outputs = b.add(kind, inputs, outputs=1, **attributes)  # Y: (time, directions, batch, units)
    batch_major = b.add("Transpose", [outputs], perm=[2, 0, 1, 3])
    return b.add("Reshape", [batch_major, b.ints([0, 0, -1])])
