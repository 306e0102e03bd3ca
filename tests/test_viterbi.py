"""The export's two Viterbi decoders find the paths `CRF.decode` finds, tag id for tag id.

`CRF.decode` is the reference. An export decodes a CRF head without it: the
Keras model that tf2onnx converts runs `DecodedTagger.viterbi` (its two loops
as `keras.layers.RNN`s), the ONNX graph written from the layers runs
`onnx_viterbi.viterbi` (two `Scan`s). Each is given random emissions for a CRF
with random transition, start and end scores, some transitions forbidden
(BIO's, or drawn at random): sentences of one, two and seven words, rows with
padding (its emissions large, to be ignored), an empty row, and batches in
which every sentence has one word. The tag ids must equal `CRF.decode`'s,
padding included (0). Runs under either backend; the ONNX graph runs in
onnxruntime.
"""

import keras
import numpy as np
import onnx
import onnxruntime
import pytest
from onnx import TensorProto, helper

from custom_layers import CRF, bio_transition_mask
from recipes.exporting import decoded as exported
from recipes.exporting import onnx_graph, onnx_viterbi
from recipes.exporting.onnx_builder import Context, GraphBuilder

BIO_TAGS = ["O", "B-city", "I-city", "B-date", "I-date"]


def random_crf(constraints, seed):
    """A CRF over its input scores (no kernel) with transition, start and end scores drawn from N(0, 1),
    inside a tagger (word ids -> one score per tag -> the CRF), as `DecodedTagger` takes it:
    `(tagger, crf)`. `constraints`: "bio" (`bio_transition_mask`) or "random" (a quarter of the
    transitions, start and end tags forbidden, drawn)."""
    rng = np.random.default_rng(seed)
    if constraints == "bio":
        allowed, allowed_start = bio_transition_mask(BIO_TAGS)
        num_tags, forbidden = (
            len(BIO_TAGS),
            {"allowed_transitions": allowed, "allowed_start_transitions": allowed_start},
        )
    else:
        num_tags = 6
        forbidden = {
            "allowed_transitions": (rng.random((num_tags, num_tags)) > 0.25).tolist(),
            "allowed_start_transitions": (rng.random(num_tags) > 0.25).tolist(),
            "allowed_end_transitions": (rng.random(num_tags) > 0.25).tolist(),
        }
    words = keras.Input(shape=(None,), dtype="int32", name="words")
    scores = keras.layers.Embedding(30, num_tags, mask_zero=True)(words)
    crf = CRF(num_tags, use_kernel=False, **forbidden)
    tagger = keras.Model({"words": words}, crf(scores))
    for weight in (crf.transitions, crf.start_transitions, crf.end_transitions):
        weight.assign(rng.normal(size=weight.shape).astype("float32"))
    return tagger, crf


def batches(num_tags, seed):
    """`(emissions, mask)` pairs: for 1, 2 and 7 words, a full row, an empty one and rows of random lengths;
    then one-word sentences alone and padded to three words. Emissions from N(0, 1), 50 at padding."""
    rng = np.random.default_rng(seed)
    shapes = [(length, [length, 0, length, *rng.integers(1, length + 1, size=3)]) for length in (1, 2, 7)]
    shapes += [(1, [1, 1, 1, 1]), (3, [1, 1, 1])]
    for length, lengths in shapes:
        mask = np.arange(length)[None, :] < np.asarray(lengths)[:, None]
        emissions = rng.normal(size=(len(lengths), length, num_tags)).astype("float32")
        emissions[~mask] = 50.0
        yield emissions, mask


def keras_rnn_viterbi(tagger, crf):
    decoded = exported.DecodedTagger(tagger)
    return lambda emissions, mask: np.asarray(
        keras.ops.convert_to_numpy(
            decoded.viterbi(keras.ops.convert_to_tensor(emissions), keras.ops.convert_to_tensor(mask))
        )
    )


def onnx_scan_viterbi(tagger, crf):
    """`onnx_viterbi.viterbi` alone in a graph: emissions (float32) and the mask (bool) in, `tag_ids` out."""
    b = GraphBuilder()
    path = onnx_viterbi.viterbi(Context(b, "mask", lengths=None), "emissions", crf)
    b.nodes.append(helper.make_node("Cast", [path], ["tag_ids"], to=TensorProto.INT32))
    graph = helper.make_graph(
        b.nodes,
        "viterbi",
        [
            helper.make_tensor_value_info("emissions", TensorProto.FLOAT, ["batch", "time", crf.num_tags]),
            helper.make_tensor_value_info("mask", TensorProto.BOOL, ["batch", "time"]),
        ],
        [helper.make_tensor_value_info("tag_ids", TensorProto.INT32, ["batch", "time"])],
        initializer=b.initializers,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", onnx_graph.OPSET)])
    onnx.checker.check_model(model)
    session = onnxruntime.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return lambda emissions, mask: session.run(["tag_ids"], {"emissions": emissions, "mask": mask})[0]


DECODERS = {"decoded_tagger_rnn": keras_rnn_viterbi, "onnx_scan": onnx_scan_viterbi}


@pytest.mark.parametrize("constraints", ["bio", "random"])
@pytest.mark.parametrize("decoder", sorted(DECODERS))
def test_each_exported_viterbi_gives_the_tag_ids_crf_decode_gives(decoder, constraints):
    tagger, crf = random_crf(constraints, seed=len(constraints))
    decode = DECODERS[decoder](tagger, crf)
    transitions = np.asarray(keras.ops.convert_to_numpy(crf.transition_scores()[0]))
    not_greedy = 0
    for emissions, mask in batches(crf.num_tags, seed=3):
        expected = np.asarray(keras.ops.convert_to_numpy(crf.decode(emissions, mask)))
        got = decode(emissions, mask)
        assert got.dtype == np.int32 and got.shape == mask.shape
        np.testing.assert_array_equal(got, expected)
        # The cases test the transitions: paths avoid forbidden ones, and some differ from each word's best tag.
        assert (transitions[expected[:, :-1], expected[:, 1:]][mask[:, 1:]] > -1e3).all()
        not_greedy += int((expected != emissions.argmax(axis=-1))[mask].any())
    assert not_greedy >= 2
