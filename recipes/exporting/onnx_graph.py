"""An ONNX graph written straight from a tagger's layers, its recurrent layers as ONNX's own nodes.

    graph = decoded_tagger_onnx(model, ("words", "trigrams"))   # an `onnx.ModelProto`, or `Unsupported`
    onnx.save(graph, "model.onnx")

The graph computes what `exported.DecodedTagger` computes: word ids (and
letter-trigram ids) in, `tag_ids` (the softmax head's best tag or the CRF's
Viterbi path, 0 at padding) and `intent_probabilities` out. It is written
here, node by node, rather than converted from a TensorFlow graph by tf2onnx,
because tf2onnx turns every recurrent layer into an ONNX `Loop` whose body
onnxruntime runs operation by operation, word by word; ONNX has `LSTM`, `GRU`
and `RNN` nodes that run a whole (bidirectional, length-masked) sequence in
one compiled kernel. With them the ONNX engine tags ATIS's test set 1.11 times
as fast as Keras under JAX in batches, 2.2 times for one sentence; through
tf2onnx's loops it was 0.93 times (`benchmarks/results/predict_speed_jax_onnx.md`).

The walk reads the functional model's own description (`model.get_config()`:
each layer and the layers its inputs come from) and the layers' weights. It
knows the layers the recipes build (see `EMITTERS`); anything else (a Jordan
network, a full-matrix peephole LSTM, another activation, word vectors
without a padding mask) raises `Unsupported`, and `recipes.export` then
converts through tf2onnx instead.

Masks: the recipes pad sentences on the right with id 0, and every layer's
mask is the same one, "a real word" (`exported.DecodedTagger.mask`). So the
graph computes that mask once, and each sentence's length from it: the
recurrent nodes take the lengths (`sequence_lens`), and the layers that read
a mask in Keras (the context window, the poolings, the CRF's decoding) read
this one. Values at padded words may differ from Keras's (Keras carries a
one-direction layer's last output there, ONNX writes zeros) but nothing that
reaches an output reads them.
"""

import keras
import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

import custom_layers
from recipes.inference.export_folder import INTENT_OUTPUT, TAG_OUTPUT
from recipes.model.parts import crf_layer

OPSET = 17
ACTIVATIONS = {"tanh": "Tanh", "sigmoid": "Sigmoid", "relu": "Relu"}  # Keras name -> ONNX recurrent activation


class Unsupported(Exception):
    """A layer, or an option of one, that this writer has no ONNX form for."""


class GraphBuilder:
    """Nodes and constants of one ONNX graph, every value named once."""

    def __init__(self, prefix=""):
        self.nodes, self.initializers, self.prefix, self.count = [], [], prefix, 0

    def name(self, hint):
        self.count += 1
        return f"{self.prefix}{hint}_{self.count}"

    def constant(self, value, hint="constant", dtype=None):
        array = np.asarray(value, dtype=dtype)
        name = self.name(hint)
        self.initializers.append(numpy_helper.from_array(array, name))
        return name

    def ints(self, values):
        return self.constant(np.asarray(values, dtype=np.int64), "ints")

    def add(self, op, inputs, outputs=1, hint=None, **attributes):
        """One node; returns its output name (a list of names when `outputs` > 1)."""
        names = [self.name(hint or op.lower()) for _ in range(outputs)]
        self.nodes.append(helper.make_node(op, list(inputs), names, name=self.name(op), **attributes))
        return names[0] if outputs == 1 else names


class Context:
    """What every layer's emitter may read: the builder, the mask and the sentence lengths."""

    def __init__(self, builder, mask, lengths):
        self.builder, self.mask, self.lengths = builder, mask, lengths
        self._mask_float = None

    @property
    def mask_float(self):
        """The mask as 1.0 / 0.0, (batch, time)."""
        if self._mask_float is None:
            self._mask_float = self.builder.add("Cast", [self.mask], to=TensorProto.FLOAT)
        return self._mask_float

    def steps_mask(self):
        """The mask as 1.0 / 0.0 with a trailing axis, (batch, time, 1): multiplies per-word features."""
        return self.builder.add("Unsqueeze", [self.mask_float, self.builder.ints([-1])])


def weights(variable):
    return np.asarray(keras.ops.convert_to_numpy(variable), dtype=np.float32)


def activation_name(function):
    return keras.activations.serialize(function) if callable(function) else str(function)


# ---------------------------------------------------------------------------------------------- word features


def _check_masks(layer):
    if not getattr(layer, "mask_zero", True):
        raise Unsupported(f"{layer.name!r}: mask_zero=False (the graph skips padding, as the recipes' models do)")


def emit_embedding(ctx, layer, ids):
    _check_masks(layer)
    return ctx.builder.add("Gather", [ctx.builder.constant(weights(layer.embeddings), "embeddings"), ids])


def emit_trigram_embedding(ctx, layer, ids):
    b = ctx.builder
    table = weights(layer.embeddings)
    table[0] = 0.0  # the padding id adds nothing: the sum over a word's ids needs no mask then
    summed = b.add(
        "ReduceSum", [b.add("Gather", [b.constant(table, "trigram_embeddings"), ids]), b.ints([2])], keepdims=0
    )
    if layer.combiner == "sum":
        return summed
    present = b.add(
        "Cast", [b.add("Not", [b.add("Equal", [ids, b.constant(0, dtype=np.int32)])])], to=TensorProto.FLOAT
    )
    count = b.add("ReduceSum", [present, b.ints([2])], keepdims=1)
    return b.add("Div", [summed, b.add("Max", [count, b.constant(1.0, dtype=np.float32)])])


def emit_one_hot(ctx, layer, ids):
    _check_masks(layer)
    b = ctx.builder
    values = b.constant([0.0, 1.0], dtype=np.float32)
    # onnxruntime's OneHot takes int64 indices.
    indices = b.add("Cast", [ids], to=TensorProto.INT64)
    vectors = b.add("OneHot", [indices, b.constant([layer.num_tokens], dtype=np.int64), values], axis=-1)
    present = b.add(
        "Cast", [b.add("Not", [b.add("Equal", [ids, b.constant(0, dtype=np.int32)])])], to=TensorProto.FLOAT
    )
    return b.add("Mul", [vectors, b.add("Unsqueeze", [present, b.ints([-1])])])


def emit_context_window(ctx, layer, features):
    b = ctx.builder
    features = b.add("Mul", [features, ctx.steps_mask()])
    if layer.size == 0:
        return features
    size, width = layer.size, 2 * layer.size
    padded = b.add("Pad", [features, b.ints([0, size, 0, 0, size, 0])])
    big = np.iinfo(np.int64).max
    shifted = [
        b.add("Slice", [padded, b.ints([k]), b.ints([k - width if k < width else big]), b.ints([1])])
        for k in range(width + 1)
    ]
    return b.add("Concat", shifted, axis=-1)


# ---------------------------------------------------------------------------------------------- recurrent layers


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


# ---------------------------------------------------------------------------------------------- heads and pooling


def _activation(ctx, name, values):
    if name == "linear":
        return values
    if name == "softmax":
        return ctx.builder.add("Softmax", [values], axis=-1)
    if name in ACTIVATIONS:
        return ctx.builder.add(ACTIVATIONS[name], [values])
    raise Unsupported(f"activation {name!r} is not written")


def emit_dense(ctx, layer, values):
    b = ctx.builder
    out = b.add("MatMul", [values, b.constant(weights(layer.kernel), "kernel")])
    if layer.use_bias:
        out = b.add("Add", [out, b.constant(weights(layer.bias), "bias")])
    return _activation(ctx, activation_name(layer.activation), out)


def emit_crf(ctx, layer, values):
    """The CRF's emissions (its decoding is the graph's tag output, `viterbi`)."""
    if not layer.use_kernel:
        return values
    b = ctx.builder
    return b.add(
        "Add",
        [
            b.add("MatMul", [values, b.constant(weights(layer.kernel), "kernel")]),
            b.constant(weights(layer.bias), "bias"),
        ],
    )


def emit_attention_pooling(ctx, layer, states):
    b = ctx.builder
    hidden = b.add(
        "Tanh",
        [
            b.add(
                "Add",
                [
                    b.add("MatMul", [states, b.constant(weights(layer.kernel), "kernel")]),
                    b.constant(weights(layer.bias), "bias"),
                ],
            )
        ],
    )
    scores = b.add(
        "ReduceSum",
        [b.add("Mul", [hidden, b.constant(weights(layer.score_vector), "score_vector")]), b.ints([-1])],
        keepdims=0,
    )
    scores = b.add("Where", [ctx.mask, scores, b.constant(-1e9, dtype=np.float32)])
    alpha = b.add("Mul", [b.add("Softmax", [scores], axis=-1), ctx.mask_float])
    return b.add(
        "ReduceSum", [b.add("Mul", [states, b.add("Unsqueeze", [alpha, b.ints([-1])])]), b.ints([1])], keepdims=0
    )


def emit_mean_pooling(ctx, layer, states):
    b = ctx.builder
    keep = ctx.steps_mask()
    count = b.add("Max", [b.add("ReduceSum", [keep, b.ints([1])], keepdims=0), b.constant(1.0, dtype=np.float32)])
    return b.add("Div", [b.add("ReduceSum", [b.add("Mul", [states, keep]), b.ints([1])], keepdims=0), count])


def emit_step_broadcast(ctx, layer, vector, sequence):
    b = ctx.builder
    batch_and_time = b.add("Slice", [b.add("Shape", [sequence]), b.ints([0]), b.ints([2])])
    shape = b.add("Concat", [batch_and_time, b.ints([1])], axis=0)
    return b.add("Expand", [b.add("Unsqueeze", [vector, b.ints([1])]), shape])


def emit_softmax(ctx, layer, values):
    axis = layer.axis if isinstance(layer.axis, int) else -1
    return ctx.builder.add("Softmax", [values], axis=axis)


def emit_concatenate(ctx, layer, *values):
    return ctx.builder.add("Concat", list(values), axis=layer.axis)


def emit_identity(ctx, layer, values):
    return values


# Layer class -> emitter, tried in order (subclasses before the classes they extend).
EMITTERS = (
    (custom_layers.TrigramEmbedding, emit_trigram_embedding),
    (custom_layers.OneHot, emit_one_hot),
    (keras.layers.Embedding, emit_embedding),
    (custom_layers.ContextWindow, emit_context_window),
    (keras.layers.Dropout, emit_identity),
    (keras.layers.Bidirectional, emit_recurrent),
    (keras.layers.RNN, emit_recurrent),
    (custom_layers.CRF, emit_crf),
    (keras.layers.Dense, emit_dense),
    (custom_layers.AttentionPooling, emit_attention_pooling),
    (custom_layers.MeanPooling, emit_mean_pooling),
    (custom_layers.StepBroadcast, emit_step_broadcast),
    (keras.layers.Softmax, emit_softmax),
    (keras.layers.Concatenate, emit_concatenate),
)


def emitter_of(layer):
    for kind, emit in EMITTERS:
        if isinstance(layer, kind):
            return emit
    raise Unsupported(f"{type(layer).__name__} {layer.name!r} has no ONNX form here")


# ---------------------------------------------------------------------------------------------- the walk


def _history(value):
    """The `(layer, node, tensor)` a serialized Keras tensor comes from, or None for a plain value."""
    if isinstance(value, dict) and value.get("class_name") == "__keras_tensor__":
        return tuple(value["config"]["keras_history"])
    return None


def _tensor_arguments(arguments):
    """The Keras tensors among a node's positional arguments, in order (a list argument flattened)."""
    found = []
    for value in arguments:
        for item in value if isinstance(value, list) else [value]:
            history = _history(item)
            if history is None and not isinstance(item, (int, float, str, type(None))):
                raise Unsupported(f"an argument of kind {type(item).__name__} is not written")
            if history is not None:
                found.append(history)
    return found


def _walk(model, ctx, graph_inputs):
    """ONNX names of the model's outputs: {"tags": ..., "intent": ...} or {"tags": ...}."""
    config = model.get_config()
    described = {layer["name"]: layer for layer in config["layers"]}
    done = {}

    def tensor(history):
        name, node_index, tensor_index = history
        key = (name, node_index, tensor_index)
        if key in done:
            return done[key]
        if name in graph_inputs:
            done[key] = graph_inputs[name]
            return done[key]
        if tensor_index != 0 or node_index != 0:
            raise Unsupported(f"layer {name!r} is called more than once or has several outputs")
        node = described[name]["inbound_nodes"][0]
        # The `mask` a Keras layer is called with is the words' mask here (see the module docstring):
        # only positional arguments are walked.
        arguments = [tensor(argument) for argument in _tensor_arguments(node["args"])]
        layer = model.get_layer(name)
        done[key] = emitter_of(layer)(ctx, layer, *arguments)
        return done[key]

    outputs = config["output_layers"]
    if isinstance(outputs, dict):
        return {key: tensor(tuple(history)) for key, history in outputs.items()}
    if len(outputs) == 3 and isinstance(outputs[0], str):  # one output: [layer, node, tensor]
        return {"tags": tensor(tuple(outputs))}
    if len(outputs) == 1 and len(outputs[0]) == 3 and isinstance(outputs[0][0], str):
        return {"tags": tensor(tuple(outputs[0]))}
    raise Unsupported(f"outputs {outputs!r} are not a tagger's")


def _viterbi(ctx, emissions, crf):
    """The CRF's best path, (batch, time) int64, 0 at padding: `CRF.decode` as two ONNX `Scan`s.

    Forward over words 2..n: delta_t[j] = max_i(delta_{t-1}[i] + A[i, j]) + E[t, j], the argmax kept as a
    back pointer; a padded word keeps delta. Backward: y_{t-1} = back_t[y_t], a padded word keeping its tag.
    Each scan reads one padded step past the end, so that a batch of one-word sentences still has a step."""
    b = ctx.builder
    transitions, start, end = (np.asarray(keras.ops.convert_to_numpy(p), np.float32) for p in crf.transition_scores())
    emissions = b.add("Cast", [emissions], to=TensorProto.FLOAT)
    first = b.add(
        "Add", [b.add("Gather", [emissions, b.constant(0, dtype=np.int64)], axis=1), b.constant(start, "start")]
    )
    valid = b.add("Unsqueeze", [ctx.mask_float, b.ints([-1])])  # (batch, time, 1)
    steps = b.add("Concat", [emissions, valid], axis=-1)  # (batch, time, tags + 1)
    later = b.add("Slice", [steps, b.ints([1]), b.ints([np.iinfo(np.int64).max]), b.ints([1])])
    padded_step = b.add(
        "Mul", [b.add("Slice", [steps, b.ints([0]), b.ints([1]), b.ints([1])]), b.constant(0.0, dtype=np.float32)]
    )
    scanned = b.add(
        "Transpose", [b.add("Concat", [later, padded_step], axis=1)], perm=[1, 0, 2]
    )  # (steps, batch, tags + 1)
    tags = transitions.shape[0]

    body = GraphBuilder("forward/")
    delta_in, step_in = "delta_in", "step_in"
    emission = body.add("Slice", [step_in, body.ints([0]), body.ints([tags]), body.ints([1])])
    flag = body.add(
        "Cast",
        [body.add("Slice", [step_in, body.ints([tags]), body.ints([tags + 1]), body.ints([1])])],
        to=TensorProto.BOOL,
    )
    candidates = body.add(
        "Add", [body.add("Unsqueeze", [delta_in, body.ints([2])]), body.constant(transitions, "transitions")]
    )
    best = body.add("Add", [body.add("ReduceMax", [candidates], axes=[1], keepdims=0), emission])
    pointer = body.add("ArgMax", [candidates], axis=1, keepdims=0)
    delta_out = body.add("Where", [flag, best, delta_in])
    flag_out = body.add("Identity", [flag])
    forward_body = _subgraph(
        body,
        "viterbi_forward",
        [(delta_in, TensorProto.FLOAT), (step_in, TensorProto.FLOAT)],
        [(delta_out, TensorProto.FLOAT), (pointer, TensorProto.INT64), (flag_out, TensorProto.BOOL)],
    )
    last_delta, pointers, flags = b.add("Scan", [first, scanned], outputs=3, body=forward_body, num_scan_inputs=1)
    last_tag = b.add("ArgMax", [b.add("Add", [last_delta, b.constant(end, "end")])], axis=1, keepdims=0)

    body = GraphBuilder("backward/")
    tag_in, pointer_in, flag_in = "tag_in", "pointer_in", "flag_in"
    came_from = body.add("GatherElements", [pointer_in, body.add("Unsqueeze", [tag_in, body.ints([1])])], axis=1)
    earlier = body.add(
        "Where",
        [body.add("Squeeze", [flag_in, body.ints([1])]), body.add("Squeeze", [came_from, body.ints([1])]), tag_in],
    )
    tag_out, emitted = body.add("Identity", [earlier]), body.add("Identity", [earlier])
    backward_body = _subgraph(
        body,
        "viterbi_backward",
        [(tag_in, TensorProto.INT64), (pointer_in, TensorProto.INT64), (flag_in, TensorProto.BOOL)],
        [(tag_out, TensorProto.INT64), (emitted, TensorProto.INT64)],
    )
    # Walked from the padded step back: the output at step k (stored in step order) is y_k.
    _, path = b.add(
        "Scan",
        [last_tag, pointers, flags],
        outputs=2,
        body=backward_body,
        num_scan_inputs=2,
        scan_input_directions=[1, 1],
        scan_output_directions=[1],
    )
    path = b.add("Transpose", [path], perm=[1, 0])
    return b.add("Where", [ctx.mask, path, b.constant(0, dtype=np.int64)])


def _subgraph(builder, name, inputs, outputs):
    return helper.make_graph(
        builder.nodes,
        name,
        [helper.make_tensor_value_info(value, kind, None) for value, kind in inputs],
        [helper.make_tensor_value_info(value, kind, None) for value, kind in outputs],
        initializer=builder.initializers,
    )


def decoded_tagger_onnx(model, features):
    """The ONNX model of `exported.DecodedTagger(model)`: inputs `features` ("words", "trigrams") as int32 ids,
    outputs `tag_ids` (int32) and, with an intent head, `intent_probabilities`. Raises `Unsupported`."""
    b = GraphBuilder()
    graph_inputs, declared = {}, []
    for name in features:
        spec = model.input[name] if isinstance(model.input, dict) else None
        rank = len(spec.shape) if spec is not None else 2
        dims = ["batch", "time", *([int(spec.shape[2])] if rank == 3 else [])]
        declared.append(helper.make_tensor_value_info(name, TensorProto.INT32, dims))
        graph_inputs[name] = name
    zero = b.constant(0, dtype=np.int32)
    if "words" in graph_inputs:
        mask = b.add("Not", [b.add("Equal", ["words", zero])])
    else:
        present = b.add("Cast", [b.add("Not", [b.add("Equal", ["trigrams", zero])])], to=TensorProto.INT32)
        mask = b.add("Greater", [b.add("ReduceSum", [present, b.ints([2])], keepdims=0), zero])
    lengths = b.add("ReduceSum", [b.add("Cast", [mask], to=TensorProto.INT32), b.ints([1])], keepdims=0)
    ctx = Context(b, mask, lengths)
    outputs = _walk(model, ctx, graph_inputs)
    crf = crf_layer(model)
    if crf is None:
        tags = b.add(
            "Where", [mask, b.add("ArgMax", [outputs["tags"]], axis=-1, keepdims=0), b.constant(0, dtype=np.int64)]
        )
    else:
        tags = _viterbi(ctx, outputs["tags"], crf)
    b.nodes.append(helper.make_node("Cast", [tags], [TAG_OUTPUT], to=TensorProto.INT32))
    declared_outputs = [helper.make_tensor_value_info(TAG_OUTPUT, TensorProto.INT32, ["batch", "time"])]
    if "intent" in outputs:
        b.nodes.append(helper.make_node("Softmax", [outputs["intent"]], [INTENT_OUTPUT], axis=-1))
        intents = int(model.output["intent"].shape[-1])
        declared_outputs.append(helper.make_tensor_value_info(INTENT_OUTPUT, TensorProto.FLOAT, ["batch", intents]))
    graph = helper.make_graph(b.nodes, model.name, declared, declared_outputs, initializer=b.initializers)
    onnx_model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="slot-rnn")
    onnx.checker.check_model(onnx_model)
    return onnx_model
