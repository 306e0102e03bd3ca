"""Every recipe end to end on a tiny dataset: flags, training, the run folder,
and tagging from the saved folder."""

import importlib
import inspect
import json
import shutil
import subprocess
import sys
from pathlib import Path

import keras
import pytest

import data
from recipes.config import flags, settings
from recipes.inference.tagger import Tagger, predict_sentences
from recipes.model import scoring

RECIPES = ["elman", "jordan", "lstm", "peephole_lstm", "gru", "feedforward"]
REPO_ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def tiny_dir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("data") / "tiny"
    data.write_dataset(data.generate_travel(seed=1, train_size=120, dev_size=30, test_size=30), folder)
    return folder


def run(name, tiny_dir, output_dir, *flags):
    module = importlib.import_module(f"recipes.{name}")
    argv = [
        "--data",
        str(tiny_dir),
        "--epochs",
        "1",
        "--units",
        "8",
        "--embedding-dim",
        "8",
        "--batch-size",
        "16",
        "--buckets",
        "24",
        "--verbose",
        "0",
        "--output-dir",
        str(output_dir),
        *flags,
    ]
    return module.main(argv)


# Each recipe once, the configurations spread over depth 1 and 2, one and two directions, heads and encodings.
CASES = [
    ("elman", ["--depth", "1", "--no-bidirectional"]),
    ("jordan", ["--depth", "2"]),
    ("lstm", ["--depth", "2", "--no-bidirectional", "--encoding", "onehot"]),
    ("peephole_lstm", ["--depth", "1", "--encoding", "trigram"]),
    ("gru", ["--depth", "2", "--head", "crf", "--encoding", "embedding+trigram"]),
    ("feedforward", ["--depth", "1"]),
]


@pytest.mark.parametrize("name,flags", CASES, ids=[case[0] for case in CASES])
def test_recipe_trains_and_writes_its_run_folder(name, flags, tiny_dir, tmp_path, capsys):
    metrics = run(name, tiny_dir, tmp_path / "run", *flags)
    folder = tmp_path / "run"
    for file in (
        "model.keras",
        "encoder.json",
        "metrics.json",
        "history.csv",
        "test_predictions.txt",
        "curves.png",
        "per_slot.csv",
        "test_intents.txt",
        "per_intent.csv",
        "config.json",
    ):
        assert (folder / file).is_file(), file
    saved = json.loads((folder / "metrics.json").read_text())
    assert saved == metrics
    assert set(saved["dev"]) >= {"precision", "recall", "f1", "intent_accuracy", "frame_accuracy"}
    assert 0.0 <= saved["test"]["f1"] <= 1.0
    assert saved["epochs"] == 1 and saved["train_seconds"] > 0
    lines = (folder / "test_predictions.txt").read_text().split("\n\n")
    assert len([block for block in lines if block.strip()]) == 30
    first = lines[0].splitlines()[0].split(" ")
    assert len(first) == 3
    out = capsys.readouterr().out
    assert "test: slot precision" in out and "test: intent accuracy" in out
    # A folder of the user's own: the run ends by tagging its first test sentences, words beside tags.
    assert f"  {first[0]}" in out and "  intent: " in out
    loaded = keras.saving.load_model(folder / "model.keras", safe_mode=True)
    assert loaded.count_params() == saved["parameters"]


def saved_predictions(run_dir):
    return [
        [line.split(" ")[2] for line in block.splitlines()]
        for block in (run_dir / "test_predictions.txt").read_text().strip().split("\n\n")
    ]


def test_context_accuracy_is_scored_where_the_data_marks_it_and_only_there(tiny_dir, tmp_path, capsys):
    run("elman", tiny_dir, tmp_path / "marked", "--depth", "1")
    saved = json.loads((tmp_path / "marked" / "metrics.json").read_text())
    dataset = data.load_dataset(str(tiny_dir))
    expected = scoring.context_accuracy(dataset.test.tags, saved_predictions(tmp_path / "marked"), dataset.test.context)
    assert saved["test"]["context"] == json.loads(json.dumps(expected))
    marked_dev_words = sum(distance >= 1 for sentence in dataset.dev.context for distance in sentence)
    assert saved["dev"]["context"]["count"] == marked_dev_words > 0
    out = capsys.readouterr().out
    assert f"test: context accuracy {expected['accuracy']:.4f} on the {expected['count']:,} words" in out

    plain = tmp_path / "plain"  # the same sentences without their context files
    shutil.copytree(tiny_dir, plain)
    for split in ("train", "dev", "test"):
        (plain / split / "context").unlink()
    run("elman", plain, tmp_path / "unmarked", "--depth", "1")
    saved = json.loads((tmp_path / "unmarked" / "metrics.json").read_text())
    assert "context" not in saved["dev"] and "context" not in saved["test"]
    assert "context accuracy" not in capsys.readouterr().out


def test_predict_round_trip_from_a_saved_run(tiny_dir, tmp_path):
    run("lstm", tiny_dir, tmp_path / "run", "--depth", "1")
    tagger = Tagger.load(tmp_path / "run")
    sentences = ["leave taipei on november 2nd", "", "i would like to arrive taipei on november 2nd"]
    results = tagger.tag(sentences)
    assert [r["words"] for r in results] == [s.split() for s in sentences]
    assert [len(r["tags"]) for r in results] == [5, 0, 9]
    # The loaded model tags exactly as the saved test predictions say.
    dataset = data.load_dataset(str(tiny_dir))
    predicted = predict_sentences(tagger.engine, tagger.encoder, dataset.test.words).tags
    saved = [
        [line.split(" ")[2] for line in block.splitlines()]
        for block in (tmp_path / "run" / "test_predictions.txt").read_text().strip().split("\n\n")
    ]
    assert predicted == saved

    completed = subprocess.run(
        [sys.executable, "-m", "recipes.predict", "--model-dir", str(tmp_path / "run"), "leave taipei on november 2nd"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert completed.returncode == 0, completed.stderr
    result = json.loads(completed.stdout.strip().splitlines()[-1])
    assert result["words"] == ["leave", "taipei", "on", "november", "2nd"] and len(result["tags"]) == 5
    # The tiny data has intents, so the model has an intent head and every result names the intent.
    assert set(result) == {"words", "tags", "slots", "intent", "intent_confidence"}
    assert result["intent"] in tagger.encoder.intents and 0.0 < result["intent_confidence"] <= 1.0


# The settings that README's ATIS table measured (benchmarks/results/quality_atis.md).
MEASURED = {
    "elman": dict(depth=1, units=128, dropout=0.3, learning_rate=0.0015, head="crf", window=1),
    "jordan": dict(depth=1, units=128, dropout=0.3, learning_rate=0.0015, head="crf", window=1),
    "lstm": dict(depth=1, units=256, dropout=0.5, learning_rate=0.004, head="crf", window=1),
    "peephole_lstm": dict(depth=1, units=256, dropout=0.5, learning_rate=0.004, head="crf", window=1),
    "gru": dict(depth=1, units=256, dropout=0.45, learning_rate=0.004, head="crf", window=1),
    "feedforward": dict(depth=2, units=256, dropout=0.3, learning_rate=0.005, head="softmax", window=0),
}


@pytest.mark.parametrize("name", RECIPES)
def test_defaults_are_the_measured_settings_and_build_model_agrees(name):
    module = importlib.import_module(f"recipes.{name}")
    args = flags.parse_settings([], name, "", module.DEFAULTS)
    expected = {
        "bidirectional": True,
        "encoding": "embedding+trigram",
        "embedding_dim": 100,
        "batch_size": 32,
        "epochs": 30,
        "patience": 5,
        **MEASURED[name],
        "intent_weight": {"softmax": 0.1, "crf": 1.0}[MEASURED[name]["head"]],
    }
    assert {key: getattr(args, key) for key in expected} == expected
    # Copying build_model into other code gives the model the command line trains.
    parameters = inspect.signature(module.build_model).parameters
    assert {key: parameters[key].default for key in settings.MODEL_OPTIONS} == settings.model_options(args)


@pytest.mark.parametrize("name", RECIPES)
def test_help_explains_every_flag(name, capsys):
    module = importlib.import_module(f"recipes.{name}")
    with pytest.raises(SystemExit) as exit_info:
        module.main(["--help"])
    assert exit_info.value.code == 0
    text = capsys.readouterr().out
    for flag in (
        "--data",
        "--encoding",
        "--embedding-dim",
        "--depth",
        "--units",
        "--bidirectional",
        "--no-bidirectional",
        "--dropout",
        "--learning-rate",
        "--epochs",
        "--patience",
        "--batch-size",
        "--seed",
        "--output-dir",
        "--head",
    ):
        assert flag in text, flag


@pytest.mark.parametrize(
    "flags,named",
    [
        (["--depth", "0"], "--depth"),
        (["--units", "many"], "--units"),
        (["--dropout", "1.5"], "--dropout"),
        (["--learning-rate", "-1"], "--learning-rate"),
        (["--encoding", "bytes"], "--encoding"),
        (["--epochs", "nan"], "--epochs"),
        (["--head", "tree"], "--head"),
        (["--units", "1000000"], "--units: expected a value in [1, 16384], got '1000000'"),
        (["--embedding-dim", "99999"], "--embedding-dim"),
        (["--depth", "500"], "--depth"),
        (["--window", "100"], "--window"),
        (["--batch-size", "10000000"], "--batch-size"),
    ],
)
def test_bad_flag_values_exit_2_with_one_line(flags, named, capsys):
    with pytest.raises(SystemExit) as exit_info:
        importlib.import_module("recipes.lstm").main(flags)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and named in err


def test_bad_data_exits_2_with_one_line(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        importlib.import_module("recipes.gru").main(
            ["--data", str(tmp_path / "missing"), "--output-dir", str(tmp_path / "o")]
        )
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "missing" in err
