"""ONNX nodes of the word features: word vectors, letter trigrams, one-hot words, the context window.

Each emitter takes the `Context`, the Keras layer and the ONNX names of the
layer's inputs, and returns the name of its output. The layers must mask
padding (id 0), as the recipes' do: the graph reads the words' mask, not one
of each layer's.
"""

import numpy as np
from onnx import TensorProto

from recipes.exporting.onnx_builder import Unsupported, weights


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
