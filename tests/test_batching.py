"""Length-bucketed batches (`data.batching`) and the training loop's epoch-by-epoch shuffle."""

import numpy as np
import pytest

import data
from data.batching import PAD_TAG, bucket_length, encode_split, make_batches
from recipes.training import recipe
from recipes.training.trainer import TrainingBatches


@pytest.fixture(scope="module")
def tiny():
    dataset = data.generate_travel(seed=3, train_size=96, dev_size=24, test_size=24)
    return dataset, recipe.fit_encoder(dataset.train)


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
        assert (batch.weights[len(batch.indices) :] == 0).all() and (batch.tags[len(batch.indices) :] == PAD_TAG).all()


def test_shuffle_is_seeded(tiny):
    dataset, encoder = tiny
    encoded = encode_split(encoder, dataset.train)
    first = [b.indices.tolist() for b in make_batches(encoded, 16, shuffle=True, seed=1)]
    again = [b.indices.tolist() for b in make_batches(encoded, 16, shuffle=True, seed=1)]
    other = [b.indices.tolist() for b in make_batches(encoded, 16, shuffle=True, seed=2)]
    assert first == again and first != other


def test_power_of_two_fill_pads_a_short_batch_to_the_next_power_of_two(tiny):
    dataset, encoder = tiny
    encoded = encode_split(encoder, dataset.train.head(5), with_tags=False)
    batches = make_batches(encoded, 64, buckets=(48,), fill="power_of_two")
    assert [batch.inputs["words"].shape[0] for batch in batches] == [8]
    assert sorted(batches[0].indices.tolist()) == [0, 1, 2, 3, 4]


def test_training_batches_reshuffle_each_epoch_and_repeat_from_the_epoch_number(tiny):
    dataset, encoder = tiny
    encoded = encode_split(encoder, dataset.train)

    def order(batches):
        return [batches[i][0]["words"].tolist() for i in range(len(batches))]

    batches = TrainingBatches(encoded, 16, ("words",), seed=4)
    first = order(batches)
    batches.on_epoch_end()
    second = order(batches)
    resumed = TrainingBatches(encoded, 16, ("words",), seed=4, epoch=1)  # what --resume after one epoch sees
    assert first != second and order(resumed) == second
