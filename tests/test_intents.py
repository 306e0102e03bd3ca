"""Intent detection beside slot filling: the intent head of every recipe, its scores, its outputs.

Runs under JAX (the conftest default); the recipes' joint training also runs in
the run-folder, checkpoint and predict tests, whose built-in data has intents.
"""

import csv
import importlib
import json

import keras
import numpy as np
import pandas as pd
import pytest

import data
from data.batching import PAD_TAG, encode_split, make_batches
from recipes import lstm, predict
from recipes.config import flags
from recipes.inference.engines import KerasEngine
from recipes.inference.tagger import Tagger, predict_sentences
from recipes.model import description as model_description
from recipes.model import parts as model_parts
from recipes.model import scoring
from recipes.training import recipe, run_folder
from support import exit_status, one_line_error, recipe_argv

RECIPES = ("feedforward", "elman", "jordan", "lstm", "peephole_lstm", "gru")


@pytest.fixture(scope="module")
def tiny():
    dataset = data.generate_travel(seed=5, train_size=80, dev_size=20, test_size=20)
    return dataset, recipe.fit_encoder(dataset.train)


# ---------------------------------------------------------------------------
# Scores
# ---------------------------------------------------------------------------


def test_intent_and_frame_accuracy():
    gold_intents = ["atis_flight", "atis_airfare", "atis_flight#atis_airfare", "atis_day_name"]
    predicted_intents = ["atis_flight", "atis_flight", "atis_flight#atis_airfare", "atis_flight"]
    gold_tags = [["O", "B-city"], ["O"], ["B-city", "O"], ["O"]]
    predicted_tags = [["O", "O"], ["O"], ["B-city", "O"], ["O"]]
    scores = scoring.intent_scores(gold_intents, predicted_intents, gold_tags, predicted_tags)
    assert scores["intent_accuracy"] == 0.5
    # Sentence 1: intent right, a tag wrong; sentence 3: both right; 2 and 4: intent wrong.
    assert scores["frame_accuracy"] == 0.25
    table = scores["per_intent"].set_index("intent")
    # The multi-intent label is one label of its own, never split into its parts.
    assert list(table.index) == ["atis_airfare", "atis_day_name", "atis_flight", "atis_flight#atis_airfare"]
    assert table.loc["atis_flight#atis_airfare", "f1"] == 1.0
    assert table.loc["atis_flight", "predicted"] == 3 and table.loc["atis_flight", "support"] == 1
    assert table.loc["atis_flight", "precision"] == pytest.approx(1 / 3)


def test_an_intent_never_seen_in_training_counts_as_wrong(tiny):
    _, encoder = tiny
    assert "atis_unheard_of" not in encoder.intents
    scores = scoring.intent_scores(["atis_unheard_of", "atis_flight"], ["atis_flight", "atis_flight"])
    assert scores["intent_accuracy"] == 0.5
    assert scores["per_intent"].set_index("intent").loc["atis_unheard_of", "support"] == 1
    # Encoded for the loss it is skipped (-1), never remapped to a known intent.
    split = data.Split([["a"], ["b"]], [["O"], ["O"]], intents=["atis_unheard_of", "atis_flight"])
    ids = encode_split(encoder, split).intent_ids
    assert ids[0] == PAD_TAG and encoder.decode_intent(ids[1]) == "atis_flight"


def test_scores_refuse_mismatched_lengths():
    with pytest.raises(ValueError, match="2 gold intents but 1 predicted"):
        scoring.intent_scores(["a", "b"], ["a"])
    with pytest.raises(ValueError, match="tag sequences"):
        scoring.intent_scores(["a"], ["a"], [["O"]], [])


# ---------------------------------------------------------------------------
# Encoder and batches
# ---------------------------------------------------------------------------


def test_encoder_fits_saves_and_loads_intents(tiny, tmp_path):
    dataset, encoder = tiny
    assert encoder.intents == sorted(set(dataset.train.intents)) and encoder.num_intents > 1
    encoder.save(tmp_path / "encoder.json")
    loaded = data.Encoder.load(tmp_path / "encoder.json")
    assert loaded.intents == encoder.intents
    assert loaded.encode_intents(dataset.dev.intents[:5], unknown=-1) == encoder.encode_intents(
        dataset.dev.intents[:5], unknown=-1
    )
    # An encoder written before intents existed loads with none.
    config = json.loads((tmp_path / "encoder.json").read_text())
    del config["intents"]
    assert data.Encoder.from_config(config).intents == []
    for bad in (["a", "a"], ["a", ""], "atis_flight", [3]):
        config["intents"] = bad
        with pytest.raises(data.DatasetError, match="'intents'"):
            data.Encoder.from_config(config)


def test_training_data_without_intents_fits_no_intents():
    encoder = data.Encoder.fit([["to", "boston"]], [["O", "B-city"]])
    assert encoder.intents == [] and encoder.num_intents == 0
    with pytest.raises(data.DatasetError, match="2 intents"):
        data.Encoder.fit([["boston"]], [["B-city"]], ["a", "b"])


def test_batches_carry_one_intent_per_sentence_and_minus_one_on_filler_rows(tiny):
    dataset, encoder = tiny
    encoded = encode_split(encoder, dataset.train.head(5))
    batch = make_batches(encoded, 8, features=("words",), buckets=(64,))[0]
    assert batch.intents.shape == (8,)
    expected = encoder.encode_intents(dataset.train.intents[:5])
    assert list(batch.intents[: len(batch.indices)]) == [expected[i] for i in batch.indices]
    assert list(batch.intents[len(batch.indices) :]) == [PAD_TAG] * 3
    assert encode_split(encoder, dataset.train.head(5), with_intents=False).intent_ids is None
    assert encode_split(encoder, dataset.train.head(5), with_tags=False).intent_ids is None


# ---------------------------------------------------------------------------
# The intent head in every recipe: padding, heads, cells, directions, depth, saving
# ---------------------------------------------------------------------------


def outputs_at(model, encoder, split, bucket):
    """Tag scores and intent logits of every sentence of `split`, padded to `bucket`."""
    features = model_description.model_input_features(model)
    batch = make_batches(encode_split(encoder, split, with_tags=False), 8, features=features, buckets=(bucket,))[0]
    outputs = model.predict_on_batch(batch.inputs)
    lengths = batch.weights.sum(axis=1).astype(int)
    rows = range(len(batch.indices))
    return [np.asarray(outputs["tags"])[row, : lengths[row]] for row in rows], np.asarray(outputs["intent"])[
        : len(batch.indices)
    ]


def assert_padding_changes_nothing(model, encoder, split):
    """The same sentences padded to 32 and to 96 steps get the same intent logits and tag scores;
    returns the intent logits."""
    short_tags, short_intents = outputs_at(model, encoder, split, 32)
    long_tags, long_intents = outputs_at(model, encoder, split, 96)
    np.testing.assert_allclose(long_intents, short_intents, rtol=1e-4, atol=1e-5)
    for short, long in zip(short_tags, long_tags):
        np.testing.assert_allclose(long, short, rtol=1e-4, atol=1e-5)
    return short_intents


CASES = [
    (name, head, bidirectional, depth)
    for name in RECIPES
    for head, bidirectional, depth in (("softmax", True, 1), ("crf", False, 2))
]


@pytest.mark.parametrize("name, head, bidirectional, depth", CASES)
def test_padding_changes_neither_the_intent_nor_the_slots(tiny, name, head, bidirectional, depth):
    dataset, encoder = tiny
    module = importlib.import_module(f"recipes.{name}")
    model = module.build_model(
        encoder, depth=depth, units=6, embedding_dim=6, bidirectional=bidirectional, head=head, dropout=0.0
    )
    assert model_description.has_intent(model)
    assert model.output["intent"].shape[-1] == encoder.num_intents
    split = dataset.dev.head(6)
    short_intents = assert_padding_changes_nothing(model, encoder, split)
    # The pooling really reads the words: another sentence gets another intent score.
    assert not np.allclose(short_intents[0], short_intents[1])


@pytest.mark.parametrize("pooling, to_slots", [("mean", False), ("attention", True)])
def test_padding_invariance_holds_for_every_pooling_and_the_intent_fed_to_the_slots(tiny, pooling, to_slots):
    dataset, encoder = tiny
    model = lstm.build_model(
        encoder, units=6, embedding_dim=6, dropout=0.0, intent_pooling=pooling, intent_to_slots=to_slots
    )
    split = dataset.dev.head(6)
    assert_padding_changes_nothing(model, encoder, split)


@pytest.mark.parametrize("head, to_slots", [("softmax", True), ("crf", False)])
def test_a_joint_model_saves_and_loads_with_safe_mode(tiny, tmp_path, head, to_slots):
    dataset, encoder = tiny
    model = lstm.build_model(encoder, units=6, embedding_dim=6, head=head, intent_to_slots=to_slots)
    run_folder.save_model(model_parts.inference_view(model), tmp_path / "model.keras")
    loaded = keras.saving.load_model(tmp_path / "model.keras", compile=False, safe_mode=True)
    assert model_description.has_intent(loaded)
    before = predict_sentences(KerasEngine(model), encoder, dataset.dev.words)
    after = predict_sentences(KerasEngine(loaded), encoder, dataset.dev.words)
    assert after.tags == before.tags and after.intents == before.intents
    np.testing.assert_allclose(after.intent_confidences, before.intent_confidences, rtol=1e-5)


def test_no_intent_builds_a_slots_only_model(tiny):
    _, encoder = tiny
    model = lstm.build_model(encoder, units=6, embedding_dim=6, intent=False)
    assert not model_description.has_intent(model) and not isinstance(model.output, dict)
    slots_only = data.Encoder.fit([["to", "boston"]], [["O", "B-city"]])
    assert not model_description.has_intent(lstm.build_model(slots_only, units=6, embedding_dim=6))


@pytest.mark.parametrize("head, weight", [("softmax", 0.1), ("crf", 1.0)])
def test_the_intent_weight_defaults_by_tag_head_and_the_flag_overrides_it(tiny, head, weight):
    # The CRF's slot loss is summed over a sentence's words, the softmax's averaged over them.
    _, encoder = tiny

    def weight_of(argv):
        return flags.parse_settings(argv, "python -m recipes.lstm", "", lstm.DEFAULTS).intent_weight

    assert weight_of(["--head", head]) == weight
    assert weight_of(["--head", head, "--intent-weight", "0.5"]) == 0.5
    # compile_model without a weight (a tuner trial, a Settings built in code) takes the same default.
    model = model_parts.compile_model(lstm.build_model(encoder, units=6, embedding_dim=6, head=head))
    assert model.get_compile_config()["loss_weights"] == {"tags": 1.0, "intent": weight}
    model = model_parts.compile_model(lstm.build_model(encoder, units=6, embedding_dim=6, head=head), 0.01, 0.3)
    assert model.get_compile_config()["loss_weights"] == {"tags": 1.0, "intent": 0.3}


# ---------------------------------------------------------------------------
# A recipe run: metrics.json, test_intents.txt, per_intent.csv, the summary
# ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def joint_run(tmp_path_factory):
    """Two epochs of the LSTM recipe on a small travel folder, and what it printed."""
    folder = tmp_path_factory.mktemp("intents") / "data"
    data.write_dataset(data.generate_travel(seed=2, train_size=80, dev_size=20, test_size=30), folder)
    run_dir = folder.parent / "run"
    metrics = lstm.main(recipe_argv(folder, run_dir, "--epochs", "2"))
    return folder, run_dir, metrics


def test_a_run_scores_intents_and_frames_on_dev_and_test(joint_run):
    folder, run_dir, metrics = joint_run
    saved = json.loads((run_dir / "metrics.json").read_text())
    assert saved == metrics and saved["intent_head"] is True and saved["monitor"] == "slot_f1"
    test = data.load_dataset(str(folder)).test
    lines = (run_dir / "test_intents.txt").read_text().splitlines()
    assert len(lines) == len(test) == 30
    gold = [line.split("\t")[0] for line in lines]
    predicted = [line.split("\t")[1] for line in lines]
    assert gold == test.intents
    with open(run_dir / "test_predictions.txt") as handle:
        blocks = handle.read().strip("\n").split("\n\n")
    predicted_tags = [[line.split(" ")[2] for line in block.splitlines()] for block in blocks]
    rescored = scoring.intent_scores(gold, predicted, test.tags, predicted_tags)
    for split in ("dev", "test"):
        assert 0.0 <= saved[split]["intent_accuracy"] <= 1.0 and 0.0 <= saved[split]["frame_accuracy"] <= 1.0
        assert saved[split]["frame_accuracy"] <= min(saved[split]["intent_accuracy"], saved[split]["sentence_accuracy"])
    assert saved["test"]["intent_accuracy"] == pytest.approx(rescored["intent_accuracy"])
    assert saved["test"]["frame_accuracy"] == pytest.approx(rescored["frame_accuracy"])
    table = pd.read_csv(run_dir / "per_intent.csv")
    assert list(table.columns) == ["intent", "precision", "recall", "f1", "support", "predicted"]
    assert table["support"].sum() == 30 and table["predicted"].sum() == 30
    with open(run_dir / "history.csv", newline="") as handle:
        assert {"val_intent_accuracy", "val_frame_accuracy"} <= set(next(csv.DictReader(handle)))


def test_predict_gives_the_intent_and_pretokenized_input_reproduces_the_test_scores(joint_run, capsys):
    folder, run_dir, metrics = joint_run
    test = data.load_dataset(str(folder)).test
    sentences = [" ".join(words) for words in test.words]
    capsys.readouterr()
    assert exit_status(predict.main, ["--model-dir", str(run_dir), "--pretokenized", *sentences]) == 0
    results = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["words"] for r in results] == test.words
    for result in results:
        assert isinstance(result["intent"], str) and 0.0 < result["intent_confidence"] <= 1.0
    tags = [r["tags"] for r in results]
    intents = [r["intent"] for r in results]
    assert scoring.score(test.tags, tags)["f1"] == pytest.approx(metrics["test"]["f1"])
    frames = scoring.intent_scores(test.intents, intents, test.tags, tags)
    assert frames["intent_accuracy"] == pytest.approx(metrics["test"]["intent_accuracy"])
    assert frames["frame_accuracy"] == pytest.approx(metrics["test"]["frame_accuracy"])


def test_pretokenized_never_splits_punctuation_off(joint_run):
    _, run_dir, _ = joint_run
    tagger = Tagger.load(run_dir)
    raw, split = tagger.tag(["flights to boston?"]), tagger.tag(["flights to boston?"], pretokenized=True)
    assert raw[0]["words"] == ["flights", "to", "boston", "?"]
    assert split[0]["words"] == ["flights", "to", "boston?"] and len(split[0]["tags"]) == 3
    assert split[0]["intent"] in tagger.encoder.intents


def test_the_run_prints_the_three_scores_and_tags_its_sentences_with_the_intent(tiny_data, tmp_path, capsys):
    lstm.main(recipe_argv(tiny_data, tmp_path / "run"))
    out = capsys.readouterr().out
    assert "test: intent accuracy " in out and " frame accuracy " in out
    assert " intents on test:" in out
    # A corpus of the user's own: the run tags a few of its own test sentences, not the lecture's flights.
    test = data.load_dataset(str(tiny_data)).test
    assert out.count("  intent: ") == recipe.SHOWN_TEST_SENTENCES
    assert "i would like to arrive taipei" not in " ".join(out.split())
    first = test.words[0]
    assert all(f"  {word}" in out for word in first)


def test_data_without_intents_trains_slots_only_and_says_so_once(tmp_path, capsys):
    folder = tmp_path / "slots"
    dataset = data.generate_travel(seed=4, train_size=40, dev_size=10, test_size=10)
    for split in (dataset.train, dataset.dev, dataset.test):
        split.intents = None
    data.write_dataset(dataset, folder)
    metrics = lstm.main(recipe_argv(folder, tmp_path / "run"))
    out = capsys.readouterr().out
    assert out.count("has no intents; training slots only") == 1
    assert metrics["intent_head"] is False and "intent_accuracy" not in metrics["test"]
    assert not (tmp_path / "run" / "test_intents.txt").exists()
    assert "intent" not in Tagger.load(tmp_path / "run").tag(["to boston"])[0]


def test_no_intent_trains_slots_only(tiny_data, tmp_path, capsys):
    metrics = lstm.main(recipe_argv(tiny_data, tmp_path / "run", "--no-intent"))
    assert metrics["intent_head"] is False
    assert set(metrics["test"]) == {"precision", "recall", "f1", "token_accuracy", "sentence_accuracy", "context"}
    assert not (tmp_path / "run" / "per_intent.csv").exists()
    result = Tagger.load(tmp_path / "run").tag(["leave boston"])[0]
    assert set(result) == {"words", "tags", "slots"}


def test_monitor_frame_accuracy_picks_the_best_epoch_by_it(tiny_data, tmp_path):
    metrics = lstm.main(recipe_argv(tiny_data, tmp_path / "run", "--epochs", "3", "--monitor", "frame_accuracy"))
    with open(tmp_path / "run" / "history.csv", newline="") as handle:
        frames = [float(row["val_frame_accuracy"]) for row in csv.DictReader(handle)]
    assert metrics["monitor"] == "frame_accuracy"
    assert metrics["best_epoch"] == frames.index(max(frames)) + 1
    assert metrics["dev"]["frame_accuracy"] == pytest.approx(max(frames))


def test_monitor_frame_accuracy_without_intents_is_a_one_line_error(tiny_data, tmp_path, capsys):
    argv = recipe_argv(tiny_data, tmp_path / "run", "--no-intent", "--monitor", "frame_accuracy")
    assert exit_status(lstm.main, argv) == 2
    one_line_error(capsys, "--monitor frame_accuracy", "intent head")
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize(
    "flag, value, fragment",
    [
        ("--intent-weight", "-1", "argument --intent-weight: expected a value in [0.0, inf], got '-1'"),
        ("--monitor", "loss", "argument --monitor: invalid choice: 'loss'"),
        ("--intent-pooling", "max", "argument --intent-pooling: invalid choice: 'max'"),
    ],
)
def test_bad_intent_flags_are_one_line_errors(tiny_data, tmp_path, capsys, flag, value, fragment):
    assert exit_status(lstm.main, recipe_argv(tiny_data, tmp_path / "run", flag, value)) == 2
    one_line_error(capsys, fragment)
