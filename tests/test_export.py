"""`recipes.export` and `recipes.predict --engine onnx`: the export tags exactly as the Keras model does.

Four tiny taggers with random weights cover the layers an export
meets: bidirectional LSTM, GRU, Jordan and peephole cells, word embeddings,
one-hot words, letter trigrams, a context window, softmax and CRF heads,
attention and mean intent pooling, the intent fed to the tag head. Three are
written as ONNX from their layers (`onnx_graph`), here under the TensorFlow
backend, the LSTM from the command line under this one; the Jordan network
has no ONNX node and goes through tf2onnx in a TensorFlow process. The module
exports once and compares many sentences (`test_onnx_graph.py` covers the
writer layer by layer).
"""

import json
import subprocess
import sys

import numpy as np
import onnx
import pytest

import data
from data.batching import encode_split, make_batches
from recipes import export, gru, jordan, lstm, peephole_lstm, predict
from recipes.config.errors import ExportFailed
from recipes.exporting import decoded as exported
from recipes.exporting import writer
from recipes.inference import engines, export_folder
from recipes.inference.tagger import OnnxTagger, Tagger
from recipes.model import parts as model_parts
from recipes.training import run_folder
from support import (  # noqa: F401  (compilation_cache: an autouse fixture of this module)
    compilation_cache,
    exit_status,
    leftovers,
    one_line_error,
    random_crf_tagger,
    subprocess_env,
)

TINY_SHAPE = {"depth": 1, "units": 8, "embedding_dim": 8}
VARIANTS = {
    "lstm_softmax_attention_intent": (lstm.build_model, {"encoding": "embedding", "head": "softmax"}),
    "gru_crf_mean_intent_to_slots": (
        gru.build_model,
        {"encoding": "embedding+trigram", "head": "crf", "intent_pooling": "mean", "intent_to_slots": True},
    ),
    "jordan_softmax_onehot_window": (
        jordan.build_model,
        {"encoding": "onehot", "head": "softmax", "intent": False, "window": 1},
    ),
    "peephole_crf_trigrams": (peephole_lstm.build_model, {"encoding": "trigram", "head": "crf", "intent": False}),
}
CLI_EXPORTED = "lstm_softmax_attention_intent"  # exported through the command line, the others in one process


def draw_weights(model, seed):
    """Every weight drawn from N(0, 0.5^2) instead of trained: an export must reproduce any weights, these
    give peaked tag and intent scores and CRF transitions far from zero, and a training step would cost
    each model a compile (tens of seconds on two shared CPU cores)."""
    rng = np.random.default_rng(seed)
    for variable in model.weights:
        variable.assign(rng.normal(0.0, 0.5, size=variable.shape).astype(variable.dtype))


@pytest.fixture(scope="module")
def dataset(tiny_data):
    return data.load_dataset(str(tiny_data))


@pytest.fixture(scope="module")
def runs(dataset, tmp_path_factory):
    """Run folders (model.keras, encoder.json) of the four variants."""
    from recipes.training import recipe

    encoder = recipe.fit_encoder(dataset.train)
    folders = {}
    for seed, (name, (build_model, options)) in enumerate(VARIANTS.items()):
        folder = tmp_path_factory.mktemp("export-runs") / name
        folder.mkdir()
        model = build_model(encoder, **TINY_SHAPE, **options)
        draw_weights(model, seed)
        encoder.save(folder / "encoder.json")
        run_folder.save_model(model_parts.inference_view(model), folder / "model.keras")
        folders[name] = folder
    return folders


@pytest.fixture(scope="module")
def onnx_runs(runs, compilation_cache):
    """The run folders, each with its ONNX export in RUN/export/onnx/."""
    others = [str(folder) for name, folder in runs.items() if name != CLI_EXPORTED]
    code = "import sys\nfrom recipes.exporting.writer import export_run\nfor run in sys.argv[1:]:\n    export_run(run, 'onnx')\n"
    env = dict(subprocess_env(compilation_cache), KERAS_BACKEND="tensorflow")
    # Side by side: a TensorFlow-backend process exporting three, and the command line under this backend.
    batch = subprocess.Popen([sys.executable, "-c", code, *others], env=env, stderr=subprocess.PIPE, text=True)
    try:
        assert exit_status(export.main, ["--model-dir", str(runs[CLI_EXPORTED])]) == 0
    finally:
        errors = batch.communicate()[1]
    assert batch.returncode == 0, errors[-3000:]
    return runs


def sentences_of(dataset):
    # Up to 12 words: two bucket lengths, so Keras compiles few shapes.
    return [" ".join(words) for words in dataset.test.words + dataset.dev.words if len(words) <= 12] + [
        "flights to boston? (denver), from detroit... zzqx!",
        "LEAVE Denver ON Monday MORNING",
        "",
        "denver",
    ]


def assert_same_results(onnx_results, keras_results):
    assert len(onnx_results) == len(keras_results)
    for got, expected in zip(onnx_results, keras_results):
        confidence = got.pop("intent_confidence", None), expected.pop("intent_confidence", None)
        assert got == expected  # words, tags, slots and intent exactly
        if confidence[1] is None:
            assert confidence[0] is None
        else:
            assert confidence[0] == pytest.approx(confidence[1], abs=1e-5)


# ---------------------------------------------------------------------------
# The ONNX export tags as Keras does
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(VARIANTS))
def test_onnx_export_tags_and_intents_as_keras_does(name, onnx_runs, dataset):
    keras_tagger = Tagger.load(onnx_runs[name])
    onnx_tagger = OnnxTagger.load(onnx_runs[name])
    assert onnx_tagger.has_intent == keras_tagger.has_intent == ("intent" not in VARIANTS[name][1])
    sentences = sentences_of(dataset)
    keras_results = keras_tagger.tag(sentences)
    assert len({tuple(r["tags"]) for r in keras_results}) > 5  # not one answer for every sentence
    assert_same_results(onnx_tagger.tag(sentences), keras_results)


@pytest.mark.parametrize("name", ["gru_crf_mean_intent_to_slots", "lstm_softmax_attention_intent"])
def test_padding_changes_nothing_in_the_export(name, onnx_runs):
    tagger = OnnxTagger.load(onnx_runs[name])
    sentence = "i want to fly from boston to denver on monday"
    longer = " ".join(["flights from denver to boston on friday morning"] * 8)  # 64 words: a longer bucket
    [alone] = tagger.tag([sentence])
    together = tagger.tag([longer, sentence, "denver"])[1]
    assert_same_results([together], [alone])
    # Straight into the graph: a sentence of one word alone, then padded with 20 steps beside one of 21 words.
    engine, encoder = tagger.engine, tagger.encoder
    ids = {"words": np.asarray([encoder.encode_words(["denver"])], "int32")}
    ids["trigrams"] = np.asarray([encoder.encode_trigrams(["denver"])], "int32")
    alone = engine.session.run(engine.output_names, {name: ids[name] for name in engine.features})
    padded = {}
    for name in engine.features:
        row = np.pad(ids[name], [(0, 0), (0, 20)] + [(0, 0)] * (ids[name].ndim - 2))
        padded[name] = np.concatenate([row, np.ones_like(row)])  # the second sentence: 21 unknown words
    together = engine.session.run(engine.output_names, padded)
    assert together[0].shape == (2, 21)
    assert together[0][0, 0] == alone[0][0, 0] and not together[0][0, 1:].any()  # tag 0 at padding
    if engine.has_intent:
        np.testing.assert_allclose(together[1][0], alone[1][0], atol=1e-6)


def test_predict_engine_onnx_prints_what_the_keras_engine_prints(onnx_runs, capsys):
    folder = str(onnx_runs[CLI_EXPORTED])
    sentences = ["leave denver on monday morning", "", "flights from boston to detroit"]
    lines = {}
    for engine in ("keras", "onnx"):
        assert exit_status(predict.main, ["--model-dir", folder, "--engine", engine, *sentences]) == 0
        lines[engine] = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert len(lines["onnx"]) == 3
    assert_same_results(lines["onnx"], lines["keras"])


def test_export_json_describes_the_artifact(onnx_runs):
    folder = onnx_runs["gru_crf_mean_intent_to_slots"] / "export" / "onnx"
    assert sorted(path.name for path in folder.iterdir()) == ["encoder.json", "export.json", "model.onnx"]
    described = json.loads((folder / "export.json").read_text())
    encoder = data.Encoder.load(folder / "encoder.json")
    assert described["format"] == "slot-rnn-export" and described["artifact_format"] == "onnx"
    assert described["tags"] == encoder.tags and described["intents"] == encoder.intents
    assert described["decoding"] == "crf_viterbi" and described["intent_decoding"] == "softmax"
    assert described["inputs"] == [
        {"name": "words", "dtype": "int32", "shape": [None, None]},
        {"name": "trigrams", "dtype": "int32", "shape": [None, None, encoder.max_trigrams]},
    ]
    session = OnnxTagger.load(onnx_runs["gru_crf_mean_intent_to_slots"]).engine.session
    assert {i.name for i in session.get_inputs()} == {"words", "trigrams"}
    assert {o.name for o in session.get_outputs()} == {"tag_ids", "intent_probabilities"}
    assert [o["name"] for o in described["outputs"]] == ["tag_ids", "intent_probabilities"]
    assert (
        json.loads((onnx_runs["jordan_softmax_onehot_window"] / "export/onnx/export.json").read_text())["decoding"]
        == "argmax"
    )


def test_layers_with_an_onnx_node_are_written_as_onnx_and_the_jordan_network_goes_through_tf2onnx(onnx_runs):
    converters = {
        name: json.loads((folder / "export" / "onnx" / "export.json").read_text())["converter"]
        for name, folder in onnx_runs.items()
    }
    assert converters == {
        "lstm_softmax_attention_intent": "onnx_graph",
        "gru_crf_mean_intent_to_slots": "onnx_graph",
        "peephole_crf_trigrams": "onnx_graph",
        "jordan_softmax_onehot_window": "tf2onnx",  # no ONNX node for it: a loop run word by word
    }
    # ONNX's own recurrent nodes, no loop; the CRF's Viterbi as two scans.
    ops = {
        node.op_type
        for node in onnx.load(onnx_runs["gru_crf_mean_intent_to_slots"] / "export/onnx/model.onnx").graph.node
    }
    assert "GRU" in ops and "Scan" in ops and "Loop" not in ops


def test_the_exported_viterbi_finds_the_paths_crf_decode_finds():
    # Random transitions and every length from one word.
    model, crf = random_crf_tagger()
    decoded = exported.DecodedTagger(model)
    rng = np.random.default_rng(0)
    for length in (1, 6):
        ids = rng.integers(1, 30, size=(5, length)).astype("int32")
        for row, size in enumerate([length, *rng.integers(1, length + 1, size=4)]):
            ids[row, size:] = 0
        expected = crf.decode(model.predict_on_batch({"words": ids}), ids != 0)
        np.testing.assert_array_equal(np.asarray(decoded({"words": ids})["tag_ids"]), np.asarray(expected))


# ---------------------------------------------------------------------------
# SavedModel
# ---------------------------------------------------------------------------


def test_saved_model_export_loads_and_tags_as_keras_does(runs, dataset, tmp_path, capsys):
    tf = pytest.importorskip("tensorflow", reason="TensorFlow is not importable beside this backend")
    run, output = runs["lstm_softmax_attention_intent"], tmp_path / "saved"
    assert exit_status(export.main, ["--model-dir", str(run), "--format", "saved_model", "--output", str(output)]) == 0
    assert capsys.readouterr().out.strip() == f"exported {run} as saved_model: {output}"
    assert sorted(path.name for path in output.iterdir()) == ["encoder.json", "export.json", "saved_model"]
    loaded = tf.saved_model.load(str(output / "saved_model"))
    tagger = Tagger.load(run)
    keras_engine = engines.KerasEngine(tagger.model)
    encoded = encode_split(tagger.encoder, dataset.dev, with_tags=False)
    # One padded shape (each shape costs the SavedModel an XLA compile), rows of every length.
    [batch] = make_batches(encoded, len(dataset.dev), features=keras_engine.features, buckets=(32,))
    outputs = loaded.serve(batch.inputs)
    tags, intents = keras_engine.predict_batch(batch)
    real = batch.weights > 0
    np.testing.assert_array_equal(np.asarray(outputs["tag_ids"])[real], tags[real])
    np.testing.assert_allclose(np.asarray(outputs["intent_probabilities"]), intents, atol=1e-5)


# ---------------------------------------------------------------------------
# Bad input: one line, exit status 2
# ---------------------------------------------------------------------------


def test_export_refuses_a_missing_or_damaged_run_folder(untrained_run, tmp_path, capsys):
    assert exit_status(export.main, ["--model-dir", str(tmp_path / "nowhere")]) == 2
    one_line_error(capsys, f"--model-dir {tmp_path / 'nowhere'}: no such folder", prefix="python -m recipes.export: ")
    damaged = tmp_path / "run"
    damaged.mkdir()
    (damaged / "encoder.json").write_bytes((untrained_run / "encoder.json").read_bytes())
    assert exit_status(export.main, ["--model-dir", str(damaged)]) == 2
    one_line_error(capsys, "model.keras: missing")
    (damaged / "model.keras").write_bytes(b"not a zip archive")
    assert exit_status(export.main, ["--model-dir", str(damaged)]) == 2
    one_line_error(capsys, "model.keras: not a .keras file")
    assert not (damaged / "export").exists()


def test_export_refuses_a_bad_format_or_output(untrained_run, a_file, tmp_path, capsys):
    assert exit_status(export.main, ["--model-dir", str(untrained_run), "--format", "tflite"]) == 2
    one_line_error(capsys, "--format", "tflite")
    assert exit_status(export.main, ["--model-dir", str(untrained_run), "--output", str(a_file)]) == 2
    one_line_error(capsys, f"--output {a_file}: exists and is not a folder")
    below_a_file = a_file / "export"
    assert exit_status(export.main, ["--model-dir", str(untrained_run), "--output", str(below_a_file)]) == 2
    one_line_error(capsys, f"--output {below_a_file}: cannot be written")
    someone_elses = tmp_path / "notes"
    someone_elses.mkdir()
    (someone_elses / "todo.txt").write_text("keep me\n")
    assert exit_status(export.main, ["--model-dir", str(untrained_run), "--output", str(someone_elses)]) == 2
    one_line_error(capsys, f"--output {someone_elses}: a folder that holds no export")
    assert (someone_elses / "todo.txt").read_text() == "keep me\n"
    assert not (untrained_run / "export").exists()


def test_predict_engine_onnx_without_an_export_says_how_to_make_one(untrained_run, tmp_path, capsys):
    argv = ["--model-dir", str(untrained_run), "--engine", "onnx", "leave boston"]
    assert exit_status(predict.main, argv) == 2
    one_line_error(capsys, "no ONNX export", f"python -m recipes.export --model-dir {untrained_run}")
    assert exit_status(predict.main, [*argv, "--export-dir", str(tmp_path / "nowhere")]) == 2
    one_line_error(capsys, f"--export-dir {tmp_path / 'nowhere'}: no such folder")
    assert exit_status(predict.main, ["--model-dir", str(untrained_run), "--export-dir", str(tmp_path), "x"]) == 2
    one_line_error(capsys, "--export-dir needs --engine onnx")
    (tmp_path / "export.json").write_text("{not json")
    assert exit_status(predict.main, [*argv, "--export-dir", str(tmp_path)]) == 2
    one_line_error(capsys, "export.json: not valid JSON")


def test_a_failed_export_leaves_nothing_half_written(untrained_run, tmp_path, capsys, monkeypatch):
    run = tmp_path / "run"
    run.mkdir()
    for name in ("model.keras", "encoder.json"):
        (run / name).write_bytes((untrained_run / name).read_bytes())

    def fails_halfway(model, model_dir, export_format, path):
        path.write_bytes(b"half an artifact")
        raise ExportFailed(f"{export_format} export of {model_dir} failed (the converter gave up)")

    monkeypatch.setattr(writer, "write_artifact", fails_halfway)
    assert exit_status(export.main, ["--model-dir", str(run)]) == 1
    one_line_error(capsys, "export of", "failed (the converter gave up)")
    assert sorted(path.name for path in run.iterdir()) == ["encoder.json", "model.keras"]  # not even export/
    # An earlier export stays as it was.
    earlier = tmp_path / "earlier"
    earlier.mkdir()
    (earlier / "export.json").write_text('{"format": "slot-rnn-export"}')
    assert exit_status(export.main, ["--model-dir", str(run), "--output", str(earlier)]) == 1
    capsys.readouterr()
    assert [path.name for path in earlier.iterdir()] == [export_folder.DESCRIPTION_FILE] and not leftovers(tmp_path)
