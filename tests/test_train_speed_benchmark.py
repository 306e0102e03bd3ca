"""benchmarks/train_speed.py: both sides of its comparison are the same model, for every cell."""

import importlib

import keras
import pytest

import data
from recipes.training import recipe


@pytest.fixture(scope="module")
def train_speed():
    return importlib.import_module("benchmarks.train_speed")


@pytest.fixture(scope="module")
def tiny_travel():
    dataset = data.generate_travel(train_size=24, dev_size=4, test_size=8)
    return dataset, recipe.fit_encoder(dataset.train)


def test_both_sides_train_the_same_model_and_report_a_row(train_speed, tiny_travel):
    # Elman's recipe defaults to a CRF head, whose loss takes no per-word weights: the pipeline side must ask
    # for the softmax head the baseline has, or the two would not be the same model (and fit would fail).
    # Its custom_layers.SimpleRNN stands against Keras's own on the baseline side: the same weights.
    dataset, encoder = tiny_travel
    setup = train_speed.PipelineSetup(buckets=(32,), batch_size=8)
    (row,) = train_speed.measure_cell("elman", dataset, encoder, 2, 0, 0.001, [setup], log=lambda line: None)
    assert row["pipeline_parameters"] == row["baseline_parameters"]
    assert row["pipeline_batches"] == 3
    assert row["speedup"] > 0 and 0 <= row["pipeline_test_f1"] <= 100
    # The same model on both sides does the same arithmetic a word, so the rates stand as the speeds do.
    assert row["pipeline_gflops"] / row["baseline_gflops"] == pytest.approx(row["speedup"])


def test_training_arithmetic_counts_every_matrix_of_the_loop_and_the_head(train_speed):
    units, features, tags = 5, 7, 3
    model = train_speed.build_baseline(keras.layers.LSTM(units, return_sequences=True), 20, tags, 0.001, features)
    # Each direction: input kernel features x 4 units and recurrent kernel units x 4 units; the head 2 units x tags.
    # The embedding is a lookup and counts nothing.
    elements = 2 * (features * 4 * units + units * 4 * units) + 2 * units * tags
    assert train_speed.training_flops_per_word(model) == 6 * elements
    assert train_speed.matmul_rate(8, 8, 8, repeats=2) > 0
