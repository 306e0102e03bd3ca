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
one compiled kernel (the speeds: `benchmarks/results/predict_speed_jax_onnx.md`).

This module holds the walk and the graph's inputs and outputs; the nodes of
each kind of layer are written by `onnx_encodings` (word features),
`onnx_recurrent` (recurrent layers) and `onnx_heads` (heads and poolings), the
CRF's decoding by `onnx_viterbi`, all on the `GraphBuilder` of `onnx_builder`.

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
from onnx import TensorProto, helper

import custom_layers
from recipes.exporting.onnx_builder import Context, GraphBuilder, Unsupported
from recipes.exporting.onnx_encodings import emit_context_window, emit_embedding, emit_one_hot, emit_trigram_embedding
from recipes.exporting.onnx_heads import (
    emit_attention_pooling,
    emit_concatenate,
    emit_crf,
    emit_dense,
    emit_identity,
    emit_mean_pooling,
    emit_softmax,
    emit_step_broadcast,
)
from recipes.exporting.onnx_recurrent import emit_recurrent
from recipes.exporting.onnx_viterbi import viterbi
from recipes.inference.export_folder import INTENT_OUTPUT, TAG_OUTPUT
from recipes.model.description import crf_layer

OPSET = 17


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
        tags = viterbi(ctx, outputs["tags"], crf)
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
