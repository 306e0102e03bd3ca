"""The CRF's Viterbi decoding as two ONNX `Scan`s: the graph's tag output for a CRF head.

It computes what `CRF.decode` computes, from the scores `CRF.transition_scores`
gives, with the same ties (the lowest tag id): a forward scan keeps the best
score of every tag and a back pointer per word, a backward scan follows the
pointers from the best last tag.
"""

import numpy as np
from onnx import TensorProto, helper

from recipes.exporting.onnx_builder import GraphBuilder, weights


def viterbi(ctx, emissions, crf):
    """The CRF's best path, (batch, time) int64, 0 at padding: `CRF.decode` as two ONNX `Scan`s.

    Forward over words 2..n: delta_t[j] = max_i(delta_{t-1}[i] + A[i, j]) + E[t, j], the argmax kept as a
    back pointer; a padded word keeps delta. Backward: y_{t-1} = back_t[y_t], a padded word keeping its tag.
    Each scan reads one padded step past the end, so that a batch of one-word sentences still has a step."""
    b = ctx.builder
    transitions, start, end = (weights(scores) for scores in crf.transition_scores())
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
    """A `Scan`'s body: the builder's nodes and constants, its inputs and outputs given as (name, element type)."""
    return helper.make_graph(
        builder.nodes,
        name,
        [helper.make_tensor_value_info(value, kind, None) for value, kind in inputs],
        [helper.make_tensor_value_info(value, kind, None) for value, kind in outputs],
        initializer=builder.initializers,
    )
