"""The shared training loop: bucketed batches, padding kept out of the loss
and the score, dev F1 every epoch and the best epoch's weights kept.

Runs under both backends (see test_backends.py).
"""

import argparse

import keras
import numpy as np
import pytest

import data
from data.batching import PAD_TAG, bucket_length, encode_split, make_batches
from recipes import common, lstm, scoring


@pytest.fixture(scope="module")
def tiny():
    dataset = data.generate_travel(seed=3, train_size=96, dev_size=24, test_size=24)
    return dataset, common.fit_encoder(dataset.train)


def make_args(**overrides):
    values = dict(batch_size=16, seed=0, patience=3, epochs=2, verbose=0, buckets=(24,))
    values.update(overrides)
    return argparse.Namespace(**values)


def test_bucket_lengths():
    assert [bucket_length(n) for n in (1, 8, 9, 12, 13, 47, 64, 65, 130)] == [8, 8, 12, 12, 16, 48, 64, 128, 192]


def test_batches_pad_to_buckets_and_cover_every_sentence(tiny):
    dataset, encoder = tiny
    encoded = encode_split(encoder, dataset.train)
    batches = make_batches(encoded, 16, features=("words", "trigrams"), shuffle=True, seed=5)
    seen = np.concatenate([batch.indices for batch in batches])
    assert sorted(seen.tolist()) == list(range(len(dataset.train)))
    for batch in batches:
        rows, length = batch.inputs["words"].shape
        assert rows == 16 and batch.inputs["trigrams"].shape == (16, length, encoder.max_trigrams)
        real = batch.weights.sum(axis=1).astype(int)
        for row, index in enumerate(batch.indices):
            size = len(dataset.train.words[index])
            assert bucket_length(size) == length and real[row] == size
            assert (batch.inputs["words"][row, :size] > 0).all() and (batch.inputs["words"][row, size:] == 0).all()
            assert (batch.tags[row, size:] == PAD_TAG).all()
        # filler rows are all padding
        assert (batch.weights[len(batch.indices):] == 0).all() and (batch.tags[len(batch.indices):] == PAD_TAG).all()


def test_shuffle_is_seeded(tiny):
    dataset, encoder = tiny
    encoded = encode_split(encoder, dataset.train)
    first = [b.indices.tolist() for b in make_batches(encoded, 16, shuffle=True, seed=1)]
    again = [b.indices.tolist() for b in make_batches(encoded, 16, shuffle=True, seed=1)]
    other = [b.indices.tolist() for b in make_batches(encoded, 16, shuffle=True, seed=2)]
    assert first == again and first != other


@pytest.mark.parametrize("head", ["softmax", "crf"])
def test_padding_never_reaches_the_loss(tiny, head):
    dataset, encoder = tiny
    model = lstm.build_model(encoder, depth=1, units=8, embedding_dim=8, dropout=0.0, head=head)
    common.compile_model(model)
    encoded = encode_split(encoder, dataset.train.head(8))
    features = common.model_input_features(model)
    short = make_batches(encoded, 8, features=features, buckets=(32,))[0]
    long = make_batches(encoded, 8, features=features, buckets=(64,))[0]
    loss_short = model.evaluate(short.inputs, short.tags, sample_weight=short.weights if head == "softmax" else None, verbose=0)
    loss_long = model.evaluate(long.inputs, long.tags, sample_weight=long.weights if head == "softmax" else None, verbose=0)
    assert np.isfinite(loss_short) and loss_short > 0
    assert loss_long == pytest.approx(loss_short, rel=1e-5)


def test_predictions_have_one_tag_per_real_word(tiny):
    dataset, encoder = tiny
    model = lstm.build_model(encoder, depth=1, units=8, embedding_dim=8)
    predicted = common.predict_split(model, encoder, dataset.dev)
    assert [len(tags) for tags in predicted] == [len(words) for words in dataset.dev.words]
    assert all(tag in encoder.tags for tags in predicted for tag in tags)


@pytest.mark.parametrize("head", ["softmax", "crf"])
def test_train_reports_dev_f1_and_keeps_the_best_weights(tiny, head, tmp_path):
    dataset, encoder = tiny
    model = lstm.build_model(encoder, depth=1, units=16, embedding_dim=16, head=head)
    common.compile_model(model, learning_rate=0.01)
    monitor = common.train(model, encoder, dataset, make_args(epochs=3), tmp_path)
    history = (tmp_path / "history.csv").read_text().splitlines()
    assert history[0].split(",") == ["epoch", "loss", "seconds", "val_slot_f1"]
    f1s = [float(line.split(",")[3]) for line in history[1:]]
    assert len(f1s) == 3 and monitor.best_f1 == max(f1s) and monitor.best_epoch == f1s.index(max(f1s)) + 1
    rescored = scoring.score(dataset.dev.tags, common.predict_split(model, encoder, dataset.dev))["f1"]
    assert rescored == pytest.approx(monitor.best_f1)
    losses = [float(line.split(",")[1]) for line in history[1:]]
    assert losses[-1] < losses[0]
