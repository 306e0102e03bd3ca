"""Training that cannot silently go wrong: a NaN loss stops with one line, a seed gives identical runs."""

import json
import math

import keras
import numpy as np

import data
from recipes import lstm
from recipes.model import parts as model_parts
from recipes.training import recipe
from support import (  # noqa: F401  (compilation_cache: an autouse fixture of this module)
    assert_same_training,
    compilation_cache,
    exit_status,
    leftovers,
    one_line_error,
    recipe_argv,
    trained_state,
)

# ---------------------------------------------------------------------------
# A loss that turns NaN
# ---------------------------------------------------------------------------


def test_a_loss_that_turns_nan_stops_with_one_line_and_claims_no_result(tiny_data, tmp_path, capsys):
    run_dir = tmp_path / "run"
    argv = recipe_argv(tiny_data, run_dir, "--epochs", "2", "--learning-rate", "1e38")
    assert exit_status(lstm.main, argv) == 1
    one_line_error(
        capsys,
        "the loss became NaN or infinite in epoch 1",
        "--learning-rate",
        "no epoch finished",
        prefix="python -m recipes.lstm: error: ",
    )
    for name in ("metrics.json", "model.keras", "test_predictions.txt", "checkpoint"):
        assert not (run_dir / name).exists(), name
    assert leftovers(run_dir) == []


def test_a_loss_that_turns_nan_later_keeps_the_last_good_weights(tiny_data, tmp_path, capsys, monkeypatch):
    steps_per_epoch = math.ceil(60 / 4)
    original = model_parts.compile_model

    def compile_with_a_jump(model, learning_rate=0.005, intent_weight=0.1):
        # The learning rate jumps from sane to absurd once the first epoch is over.
        original(model, learning_rate, intent_weight)
        schedule = keras.optimizers.schedules.PiecewiseConstantDecay([steps_per_epoch], [learning_rate, 1e38])
        model.compile(
            optimizer=keras.optimizers.Adam(schedule, clipnorm=5.0),
            loss=model.loss,
            loss_weights={"tags": 1.0, "intent": intent_weight} if isinstance(model.output, dict) else None,
        )
        return model

    monkeypatch.setattr(recipe, "compile_model", compile_with_a_jump)
    run_dir = tmp_path / "run"
    assert exit_status(lstm.main, recipe_argv(tiny_data, run_dir, "--epochs", "3")) == 1
    one_line_error(
        capsys,
        "NaN or infinite in epoch 2",
        f"weights of epoch 1, the best so far, are kept in {run_dir / 'checkpoint' / 'best.weights.h5'}",
    )
    assert not (run_dir / "metrics.json").exists() and not (run_dir / "model.keras").exists()
    state = json.loads((run_dir / "checkpoint" / "state.json").read_text())
    assert (state["epochs_done"], state["best_epoch"]) == (1, 1)
    encoder = data.Encoder.load(run_dir / "encoder.json")
    model = lstm.build_model(encoder, depth=1, units=8, encoding="embedding", embedding_dim=8)
    model.load_weights(run_dir / "checkpoint" / "best.weights.h5")
    assert all(np.isfinite(weights).all() for weights in model.get_weights())
    assert leftovers(run_dir) == []


# ---------------------------------------------------------------------------
# Determinism
# ---------------------------------------------------------------------------


def test_the_same_seed_gives_identical_metrics_and_weights(tiny_data, straight_run, straight_state, tmp_path):
    assert exit_status(lstm.main, recipe_argv(tiny_data, tmp_path / "again", "--epochs", "3")) == 0
    again = trained_state(tmp_path / "again")
    assert_same_training(again, straight_state)
    assert straight_state["scores"]["test"]["f1"] > 0  # it learned something: equal scores are not all zeros
    first = json.loads((straight_run / "metrics.json").read_text())
    second = json.loads((tmp_path / "again" / "metrics.json").read_text())
    assert {k: v for k, v in first.items() if k != "train_seconds"} == {
        k: v for k, v in second.items() if k != "train_seconds"
    }
    predictions = [(folder / "test_predictions.txt").read_text() for folder in (straight_run, tmp_path / "again")]
    assert predictions[0] == predictions[1]
