"""The shared training loop: padding kept out of the loss and the score, dev F1 every epoch and the best epoch's weights kept.

Runs under both backends (see test_backends.py).
"""

import csv

import numpy as np
import pytest

import data
from data.batching import encode_split, make_batches
from recipes import lstm
from recipes.config.settings import Settings
from recipes.inference.engines import KerasEngine
from recipes.inference.tagger import predict_sentences
from recipes.model import description as model_description
from recipes.model import parts as model_parts
from recipes.model import scoring
from recipes.training import monitor as dev_monitor
from recipes.training import recipe
from recipes.training import trainer as training


@pytest.fixture(scope="module")
def tiny():
    dataset = data.generate_travel(seed=3, train_size=96, dev_size=24, test_size=24)
    return dataset, recipe.fit_encoder(dataset.train)


def make_settings(**overrides):
    values = dict(batch_size=16, seed=0, patience=3, epochs=2, verbose=0, buckets=(24,))
    values.update(overrides)
    return Settings(**values)


@pytest.mark.parametrize("intent", [False, True], ids=["slots", "joint"])
@pytest.mark.parametrize("head", ["softmax", "crf"])
def test_padding_never_reaches_the_loss(tiny, head, intent):
    dataset, encoder = tiny
    model = lstm.build_model(encoder, depth=1, units=8, embedding_dim=8, dropout=0.0, head=head, intent=intent)
    model_parts.compile_model(model)
    assert model_description.has_intent(model) == intent
    encoded = encode_split(encoder, dataset.train.head(8), with_intents=intent)
    features = model_description.model_input_features(model)
    short = make_batches(encoded, 8, features=features, buckets=(32,))[0]
    long = make_batches(encoded, 8, features=features, buckets=(64,))[0]

    def loss(batch):
        targets, weights = batch.tags, batch.weights
        if intent:
            targets = {"tags": batch.tags, "intent": batch.intents}
            weights = {"tags": batch.weights, "intent": np.ones(len(batch.intents), "float32")}
        return model.evaluate(batch.inputs, targets, sample_weight=weights if head == "softmax" else None, verbose=0)

    loss_short, loss_long = loss(short), loss(long)
    if intent:  # evaluate returns [total, intent loss, tags loss]: each must be the same
        assert len(loss_short) == 3
        assert np.allclose(loss_long, loss_short, rtol=1e-5)
        loss_short, loss_long = loss_short[0], loss_long[0]
    assert np.isfinite(loss_short) and loss_short > 0
    assert loss_long == pytest.approx(loss_short, rel=1e-5)


def test_predictions_have_one_tag_per_real_word(tiny):
    dataset, encoder = tiny
    model = lstm.build_model(encoder, depth=1, units=8, embedding_dim=8)
    predicted = predict_sentences(KerasEngine(model), encoder, dataset.dev.words).tags
    assert [len(tags) for tags in predicted] == [len(words) for words in dataset.dev.words]
    assert all(tag in encoder.tags for tags in predicted for tag in tags)


HISTORY_COLUMNS = {
    False: ["epoch", "loss", "seconds", "val_slot_f1"],
    True: [
        "epoch",
        "intent_loss",
        "loss",
        "seconds",
        "tags_loss",
        "val_frame_accuracy",
        "val_intent_accuracy",
        "val_slot_f1",
    ],
}


@pytest.mark.parametrize("intent", [False, True], ids=["slots", "joint"])
@pytest.mark.parametrize("head", ["softmax", "crf"])
def test_train_reports_dev_f1_and_keeps_the_best_weights(tiny, head, intent, tmp_path):
    dataset, encoder = tiny
    model = lstm.build_model(encoder, depth=1, units=16, embedding_dim=16, head=head, intent=intent)
    model_parts.compile_model(model, learning_rate=0.01)
    monitor = training.train(model, encoder, dataset, make_settings(epochs=3), tmp_path)
    with open(tmp_path / "history.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert list(rows[0]) == HISTORY_COLUMNS[intent]
    f1s = [float(row["val_slot_f1"]) for row in rows]
    assert len(f1s) == 3 and monitor.best_score == max(f1s) and monitor.best_epoch == f1s.index(max(f1s)) + 1
    predicted = predict_sentences(KerasEngine(model), encoder, dataset.dev.words).tags
    rescored = scoring.score(dataset.dev.tags, predicted)["f1"]
    assert rescored == pytest.approx(monitor.best_score)
    losses = [float(row["loss"]) for row in rows]
    assert losses[-1] < losses[0]
    if intent:  # the dev intent and frame accuracy of the best epoch are those of the kept weights
        best = rows[monitor.best_epoch - 1]
        predicted = predict_sentences(KerasEngine(model), encoder, dataset.dev.words)
        scores = scoring.intent_scores(dataset.dev.intents, predicted.intents, dataset.dev.tags, predicted.tags)
        assert scores["intent_accuracy"] == pytest.approx(float(best["val_intent_accuracy"]))
        assert scores["frame_accuracy"] == pytest.approx(float(best["val_frame_accuracy"]))


@pytest.mark.parametrize(
    "scores,patience,expected",
    [
        ([0.90, 0.95, 0.94, 0.93, 0.96, 0.92], 2, (2, 4)),  # two epochs without a better score: stop at 4
        ([0.90, 0.95, 0.94, 0.93, 0.96, 0.92], 3, (5, 6)),  # one more epoch finds 0.96; the scores then end
        ([0.90, 0.95, 0.95, 0.95], 2, (2, 4)),  # equal is not better
        ([0.90, 1.0, 0.99, 0.99], 3, (2, 2)),  # a perfect score stops at once
        ([float("nan"), 0.5, float("nan")], 1, (0, 1)),  # NaN never improves, even on the first epoch
        ([0.7, 0.8], 5, (2, 2)),  # the run's epoch limit came first
    ],
)
def test_replayed_early_stopping(scores, patience, expected):
    assert dev_monitor.replay_early_stopping(scores, patience) == expected


def test_training_stops_after_patience_epochs_without_a_better_dev_score(tiny, tmp_path):
    dataset, encoder = tiny
    model = lstm.build_model(encoder, depth=1, units=8, embedding_dim=8, dropout=0.0)
    model_parts.compile_model(model, learning_rate=0.0)  # nothing learned: the dev score never improves
    monitor = training.train(model, encoder, dataset, make_settings(epochs=8, patience=2), tmp_path)
    with open(tmp_path / "history.csv", newline="") as handle:
        f1s = [float(row["val_slot_f1"]) for row in csv.DictReader(handle)]
    assert len(f1s) == 3 and len(set(f1s)) == 1
    assert (monitor.best_epoch, monitor.wait) == (1, 2)
    assert dev_monitor.replay_early_stopping(f1s, 2) == (1, 3)
