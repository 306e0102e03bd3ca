"""ONNX nodes of the heads: dense layers, the CRF's emissions, the intent poolings, and what joins them.

What joins them: the intent's vector broadcast to every word (`StepBroadcast`),
softmax, concatenation, and the layers that pass their input on (dropout).
The CRF's emitter gives its emission scores only; its decoding, the graph's
tag output, is `onnx_viterbi`'s.
"""

import numpy as np

from recipes.exporting.onnx_builder import ACTIVATIONS, Unsupported, activation_name, weights


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
