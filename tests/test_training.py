"""The shared training loop: padding kept out of the loss and the score, dev F1 every epoch and the best epoch's weights kept.

Runs under both backends (see test_backends.py).
"""

import numpy as np
import pytest

import data
from data.batching import encode_split, make_batches
from recipes import lstm, scoring
from recipes.machinery import model_parts, recipe, tagging, training
from recipes.machinery.settings import Settings


@pytest.fixture(scope="module")
def tiny():
    dataset = data.generate_travel(seed=3, train_size=96, dev_size=24, test_size=24)
    return dataset, recipe.fit_encoder(dataset.train)


def make_settings(**overrides):
    values = dict(batch_size=16, seed=0, patience=3, epochs=2, verbose=0, buckets=(24,))
    values.update(overrides)
    return Settings(**values)


@pytest.mark.parametrize("head", ["softmax", "crf"])
def test_padding_never_reaches_the_loss(tiny, head):
    dataset, encoder = tiny
    model = lstm.build_model(encoder, depth=1, units=8, embedding_dim=8, dropout=0.0, head=head)
    model_parts.compile_model(model)
    encoded = encode_split(encoder, dataset.train.head(8))
    features = model_parts.model_input_features(model)
    short = make_batches(encoded, 8, features=features, buckets=(32,))[0]
    long = make_batches(encoded, 8, features=features, buckets=(64,))[0]
    loss_short = model.evaluate(
        short.inputs, short.tags, sample_weight=short.weights if head == "softmax" else None, verbose=0
    )
    loss_long = model.evaluate(
        long.inputs, long.tags, sample_weight=long.weights if head == "softmax" else None, verbose=0
    )
    assert np.isfinite(loss_short) and loss_short > 0
    assert loss_long == pytest.approx(loss_short, rel=1e-5)


def test_predictions_have_one_tag_per_real_word(tiny):
    dataset, encoder = tiny
    model = lstm.build_model(encoder, depth=1, units=8, embedding_dim=8)
    predicted = tagging.predict_split(model, encoder, dataset.dev)
    assert [len(tags) for tags in predicted] == [len(words) for words in dataset.dev.words]
    assert all(tag in encoder.tags for tags in predicted for tag in tags)


@pytest.mark.parametrize("head", ["softmax", "crf"])
def test_train_reports_dev_f1_and_keeps_the_best_weights(tiny, head, tmp_path):
    dataset, encoder = tiny
    model = lstm.build_model(encoder, depth=1, units=16, embedding_dim=16, head=head)
    model_parts.compile_model(model, learning_rate=0.01)
    monitor = training.train(model, encoder, dataset, make_settings(epochs=3), tmp_path)
    history = (tmp_path / "history.csv").read_text().splitlines()
    assert history[0].split(",") == ["epoch", "loss", "seconds", "val_slot_f1"]
    f1s = [float(line.split(",")[3]) for line in history[1:]]
    assert len(f1s) == 3 and monitor.best_f1 == max(f1s) and monitor.best_epoch == f1s.index(max(f1s)) + 1
    rescored = scoring.score(dataset.dev.tags, tagging.predict_split(model, encoder, dataset.dev))["f1"]
    assert rescored == pytest.approx(monitor.best_f1)
    losses = [float(line.split(",")[1]) for line in history[1:]]
    assert losses[-1] < losses[0]
