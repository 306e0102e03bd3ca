"""Finished searches (`recipes.tune`) and what they leave behind.

A three-trial search on the tiny data (`support.tune_data`): its results table, markdown and plot,
the best configuration retrained into a run folder that predict loads, and what another search in
the same folder does. Then a two-trial search on 200 sentences of the built-in travel data that
maximises dev frame accuracy instead of slot F1. Each search runs once for the module; the tests
read what it wrote.
"""

import json
import shutil
from pathlib import Path

import pytest

import data
from recipes import tune
from recipes.inference.tagger import Tagger
from recipes.search import hypermodel, results
from recipes.search.command_line import parse_search
from recipes.training import recipe
from support import TINY_TUNE as TINY
from support import WEIGHT_SEARCH, read_results
from support import run_tune as run_main
from support import tune_data as tiny_data  # noqa: F401  (a fixture of this module)

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def finished_search(tiny_data, tmp_path_factory):
    """A three-trial search with the best configuration retrained."""
    directory = tmp_path_factory.mktemp("search") / "tuning"
    summary = tune.main([*TINY, "--data", str(tiny_data), "--directory", str(directory), "--max-trials", "3"])
    return summary, directory / "tiny"


# ---------------------------------------------------------------------------
# A finished search
# ---------------------------------------------------------------------------


def test_search_writes_one_row_per_trial_with_every_hyperparameter(finished_search):
    summary, project_dir = finished_search
    table = read_results(project_dir)
    assert list(table["trial_id"]) == ["0", "1", "2"]
    for column in (
        "cell",
        "depth",
        "units",
        "bidirectional",
        "dropout",
        "learning_rate",
        "head",
        "val_slot_f1",
        "val_intent_accuracy",
        "val_frame_accuracy",
        "intent",
        "intent_weight",
        "parameters",
        "train_seconds",
        "status",
    ):
        assert column in table.columns
    assert table["intent"].all() and table["intent_weight"].between(WEIGHT_SEARCH.low, WEIGHT_SEARCH.high).all()
    assert table["intent_weight"].nunique() == 3  # searched, on a log scale
    assert table["val_intent_accuracy"].between(0, 1).all() and table["val_frame_accuracy"].between(0, 1).all()
    assert (table["status"] == "COMPLETED").all()
    assert set(table["cell"]) <= {"elman", "gru"} and set(table["head"]) == {"softmax"}
    assert set(table["units"]) <= {8, 16} and set(table["depth"]) <= {1, 2}
    assert table["val_slot_f1"].between(0, 1).all() and (table["train_seconds"] > 0).all()
    for row in table.itertuples():
        trial = json.loads((project_dir / f"trial_{row.trial_id}" / "trial.json").read_text())
        assert row.val_slot_f1 == pytest.approx(trial["score"])
        assert trial["hyperparameters"]["values"]["units"] == row.units
    # The tuner maximised the dev slot F1: the best trial is the row with the highest one.
    assert summary["best_trial"] == table.loc[table["val_slot_f1"].idxmax(), "trial_id"]


def test_parameter_count_is_that_of_the_recipe_model(finished_search, tiny_data):
    _, project_dir = finished_search
    encoder = recipe.fit_encoder(data.load_dataset(str(tiny_data)).train)
    base = parse_search([]).settings
    for trial in results.load_trials(project_dir):
        model = hypermodel.build_trial_model(
            encoder, trial["values"]["cell"], hypermodel.trial_settings(base, trial["values"])
        )
        assert trial["metrics"]["parameters"] == model.count_params()


def test_results_markdown_lists_trials_best_first(finished_search):
    _, project_dir = finished_search
    table = read_results(project_dir)
    lines = [line for line in (project_dir / "results.md").read_text().splitlines() if line.startswith("|")]
    header = [cell.strip() for cell in lines[0].strip("|").split("|")]
    rows = [[cell.strip() for cell in line.strip("|").split("|")] for line in lines[2:]]
    assert header[:2] == ["trial_id", "cell"] and "val_slot_f1" in header
    scores = [float(row[header.index("val_slot_f1")]) for row in rows]
    assert len(rows) == 3 and scores == sorted(scores, reverse=True)
    assert scores[0] == pytest.approx(table["val_slot_f1"].max(), abs=5e-5)


def test_search_plot_has_one_panel_per_cell(finished_search, tmp_path):
    _, project_dir = finished_search
    assert (project_dir / "search.png").read_bytes()[:8] == PNG_SIGNATURE
    table = read_results(project_dir)
    assert results.plot_search(table, ["elman", "gru"], tmp_path / "two.png") == ["elman", "gru"]
    assert results.plot_search(table, ["gru"], tmp_path / "one.png") == ["gru"]


def test_best_configuration_is_retrained_into_a_run_folder_that_predict_loads(finished_search):
    summary, project_dir = finished_search
    run_dir = Path(summary["best_run_dir"])
    assert run_dir.parent == project_dir
    for name in ("model.keras", "encoder.json", "metrics.json", "test_predictions.txt"):
        assert (run_dir / name).is_file()
    metrics = json.loads((run_dir / "metrics.json").read_text())
    best = read_results(project_dir).set_index("trial_id").loc[summary["best_trial"]]
    assert metrics["recipe"] == best["cell"] and metrics["parameters"] == best["parameters"]
    assert metrics["test"]["f1"] == pytest.approx(summary["test_f1"])
    tagged = Tagger.load(run_dir).tag(["leave boston on monday"])
    assert len(tagged[0]["tags"]) == 4


def test_another_search_space_in_the_same_folder_is_refused_with_one_line(finished_search, tiny_data, capsys):
    _, project_dir = finished_search
    before = {path: path.read_bytes() for path in project_dir.rglob("*.json")}
    flags = [*TINY, "--data", str(tiny_data), "--directory", str(project_dir.parent), "--max-trials", "3"]
    code = run_main([*flags, "--max-depth", "1"])
    error = capsys.readouterr().err
    assert code == 2
    assert error.count("\n") == 1
    assert "--max-depth 2" in error and "--max-depth 1" in error and "--overwrite" in error
    assert {path: path.read_bytes() for path in project_dir.rglob("*.json")} == before


def test_overwrite_starts_the_search_over(finished_search, tiny_data, tmp_path):
    _, project_dir = finished_search
    shutil.copytree(project_dir, tmp_path / "tuning" / "tiny")
    argv = [
        *TINY,
        "--data",
        str(tiny_data),
        "--directory",
        str(tmp_path / "tuning"),
        "--max-trials",
        "1",
        "--max-depth",
        "1",
        "--no-retrain",
        "--overwrite",
    ]
    assert run_main(argv) == 0
    table = read_results(tmp_path / "tuning" / "tiny")
    assert list(table["trial_id"]) == ["0"] and list(table["depth"]) == [1]
    assert not list((tmp_path / "tuning" / "tiny").glob("best_trial_*"))


# ---------------------------------------------------------------------------
# Maximising dev frame accuracy on the built-in travel data
# ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def frame_search(tmp_path_factory):
    """Two trials on 200 sentences of the built-in travel data (it has intents), maximising
    dev frame accuracy, with the best configuration retrained."""
    directory = tmp_path_factory.mktemp("frame") / "tuning"
    argv = [
        *TINY,
        "--data",
        "travel",
        "--max-train",
        "200",
        "--cells",
        "gru",
        "--max-depth",
        "1",
        "--max-units",
        "8",
        "--directory",
        str(directory),
        "--max-trials",
        "2",
        "--objective",
        "val_frame_accuracy",
    ]
    return tune.main(argv), directory / "travel", argv


def test_frame_accuracy_objective_is_the_score_and_every_dev_score_is_reported(frame_search):
    summary, project_dir, _ = frame_search
    table = read_results(project_dir)
    assert list(table["trial_id"]) == ["0", "1"] and (table["status"] == "COMPLETED").all()
    for column in ("intent_weight", "val_slot_f1", "val_intent_accuracy", "val_frame_accuracy"):
        assert table[column].notna().all()
    for row in table.itertuples():
        trial = json.loads((project_dir / f"trial_{row.trial_id}" / "trial.json").read_text())
        assert row.val_frame_accuracy == pytest.approx(trial["score"])
        assert row.intent_weight == pytest.approx(trial["hyperparameters"]["values"]["intent_weight"])
        assert set(trial["metrics"]["metrics"]) >= {"val_slot_f1", "val_intent_accuracy", "val_frame_accuracy"}
        assert trial["metrics"]["metrics"]["val_frame_accuracy"]["direction"] == "max"  # keras-tuner's objective
    assert summary["objective"] == "val_frame_accuracy"
    best = table.set_index("trial_id").loc[summary["best_trial"]]
    assert summary["best_score"] == pytest.approx(table["val_frame_accuracy"].max())  # the best trial, ties aside
    assert best["val_frame_accuracy"] == pytest.approx(summary["best_score"])
    assert summary["best_val_slot_f1"] == pytest.approx(best["val_slot_f1"])
    markdown = (project_dir / "results.md").read_text()
    assert "Objective: dev frame accuracy (`val_frame_accuracy`" in markdown
    lines = [line for line in markdown.splitlines() if line.startswith("|")]
    header = [cell.strip() for cell in lines[0].strip("|").split("|")]
    scores = [float(row.strip("|").split("|")[header.index("val_frame_accuracy")]) for row in lines[2:]]
    assert scores == sorted(scores, reverse=True)  # best objective first


def test_the_retrained_best_trial_uses_its_intent_weight_and_stops_on_the_objective(frame_search):
    summary, project_dir, _ = frame_search
    run_dir = Path(summary["best_run_dir"])
    values = json.loads((project_dir / f"trial_{summary['best_trial']}" / "trial.json").read_text())
    values = values["hyperparameters"]["values"]
    config = json.loads((run_dir / "config.json").read_text())
    assert config["intent_weight"] == pytest.approx(values["intent_weight"])
    assert config["intent"] is True and config["monitor"] == "frame_accuracy" and config["max_train"] is None
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["monitor"] == "frame_accuracy" and metrics["intent_head"] is True
    assert summary["test_frame_accuracy"] == pytest.approx(metrics["test"]["frame_accuracy"])
    assert summary["test_intent_accuracy"] == pytest.approx(metrics["test"]["intent_accuracy"])
    assert "test frame accuracy" in (project_dir / "results.md").read_text()


def test_resuming_with_another_objective_is_refused_with_one_line(frame_search, capsys):
    _, project_dir, argv = frame_search
    before = {path: path.read_bytes() for path in project_dir.rglob("*.json")}
    code = run_main([*argv, "--objective", "val_slot_f1"])
    error = capsys.readouterr().err
    assert code == 2 and error.count("\n") == 1
    assert "made with --objective val_frame_accuracy, not --objective val_slot_f1" in error
    assert {path: path.read_bytes() for path in project_dir.rglob("*.json")} == before
