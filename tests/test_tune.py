"""The keras-tuner search (`recipes.tune`) on a tiny generated dataset.

Every search here is small: 120 training sentences (200 of the built-in travel
data), one epoch per trial, depth at most 2, at most 16 units, one padded
length and one batch per epoch, so that a trial costs a few seconds even where
JAX compiles each model. The generated data has intents, so every model has an
intent head and the intent loss weight is searched too.
"""

import json
import os
import re
import shutil
import subprocess
import sys
from argparse import Namespace
from pathlib import Path

import keras
import keras_tuner
import pandas as pd
import pytest

import data
from recipes import tune
from recipes.config.settings import OPTIONS, SHARED
from recipes.inference.tagger import Tagger
from recipes.search import hypermodel, results
from recipes.search.command_line import parse_search
from recipes.training import recipe

REPO_ROOT = Path(__file__).resolve().parent.parent
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
WEIGHT_SEARCH = OPTIONS["intent_weight"].search  # the intent loss weight's default search bounds

# Flags that keep every trial tiny.
TINY = [
    "--epochs",
    "1",
    "--cells",
    "elman,gru",
    "--heads",
    "softmax",
    "--max-depth",
    "2",
    "--min-units",
    "8",
    "--max-units",
    "16",
    "--embedding-dim",
    "8",
    "--buckets",
    "64",
    "--batch-size",
    "128",
    "--verbose",
    "0",
]


@pytest.fixture(scope="module")
def tiny_data(tmp_path_factory):
    folder = tmp_path_factory.mktemp("data") / "tiny"
    data.write_dataset(data.generate_travel(seed=1, train_size=120, dev_size=30, test_size=30), folder)
    return folder


@pytest.fixture(scope="module")
def data_without_intents(tiny_data, tmp_path_factory):
    folder = tmp_path_factory.mktemp("data") / "slots_only"
    shutil.copytree(tiny_data, folder)
    for label in folder.glob("*/label"):
        label.unlink()
    return folder


@pytest.fixture(scope="module")
def finished_search(tiny_data, tmp_path_factory):
    """A three-trial search with the best configuration retrained."""
    directory = tmp_path_factory.mktemp("search") / "tuning"
    summary = tune.main([*TINY, "--data", str(tiny_data), "--directory", str(directory), "--max-trials", "3"])
    return summary, directory / "tiny"


def read_results(project_dir):
    return pd.read_csv(project_dir / "results.csv", dtype={"trial_id": str})


def run_main(argv):
    """`tune.main(argv)`, returning the exit code it stops with (0 when it returns)."""
    try:
        tune.main(argv)
    except SystemExit as stop:
        return stop.code
    return 0


# ---------------------------------------------------------------------------
# Flags
# ---------------------------------------------------------------------------


def test_help_describes_the_search_flags(capsys):
    assert run_main(["--help"]) == 0
    text = capsys.readouterr().out
    for flag in (
        "--cells",
        "--max-depth",
        "--min-units",
        "--max-units",
        "--no-bidirectional",
        "--heads",
        "--tuner",
        "--max-trials",
        "--executions-per-trial",
        "--directory",
        "--project-name",
        "--overwrite",
        "--distributed",
        "--workers",
        "--max-train",
        "--patience",
        "--objective",
        "--no-intent",
        "--intent-pooling",
        "--intent-to-slots",
        "--min-intent-weight",
        "--max-intent-weight",
    ):
        assert flag in text
    assert "--serve-only" not in text


@pytest.mark.parametrize(
    "argv, named",
    [
        (["--cells", "lstm,transformer"], "--cells: unknown cell 'transformer'"),
        (["--heads", "viterbi"], "--heads: unknown head 'viterbi'"),
        (["--max-depth", "0"], "--max-depth: expected a value in [1, 64], got '0'"),
        (["--min-units", "64", "--max-units", "32"], "--min-units 64 is above --max-units 32"),
        (["--max-dropout", "1.5"], "--max-dropout: expected a value in [0.0, 1.0), got '1.5'"),
        (["--tuner", "grid"], "--tuner: invalid choice: 'grid'"),
        (["--tuner", "hyperband", "--max-trials", "5"], "--max-trials 5: hyperband decides"),
        (["--workers", "3"], "--workers 3: only with --distributed"),
        (["--project-name", "../elsewhere"], "--project-name '../elsewhere'"),
        (
            ["--min-intent-weight", "2", "--max-intent-weight", "1"],
            "--min-intent-weight 2.0 is above --max-intent-weight 1.0",
        ),
        (["--max-intent-weight", "0"], "--max-intent-weight: expected a value in (0.0, inf], got '0'"),
        (["--objective", "val_intent_accuracy"], "--objective: invalid choice: 'val_intent_accuracy'"),
        (["--intent-pooling", "max"], "--intent-pooling: invalid choice: 'max'"),
        (
            ["--objective", "val_frame_accuracy", "--no-intent"],
            "--objective val_frame_accuracy: needs the intent head; leave out --no-intent",
        ),
    ],
)
def test_bad_flag_prints_one_line_naming_it_and_exits_2(argv, named, tiny_data, tmp_path, capsys):
    directory = tmp_path / "tuning"
    code = run_main([*TINY, "--data", str(tiny_data), "--directory", str(directory), *argv])
    error = capsys.readouterr().err
    assert code == 2
    assert error.count("\n") == 1 and error.startswith("python -m recipes.tune: error: ")
    assert named in error
    assert not directory.exists()


def test_frame_accuracy_on_data_without_intents_prints_one_line_and_writes_nothing(
    data_without_intents, tmp_path, capsys
):
    directory = tmp_path / "tuning"
    argv = [*TINY, "--data", str(data_without_intents), "--directory", str(directory)]
    code = run_main([*argv, "--objective", "val_frame_accuracy"])
    error = capsys.readouterr().err
    assert code == 2
    assert error == (
        f"python -m recipes.tune: error: --objective val_frame_accuracy: the train sentences of --data "
        f"{data_without_intents} have no intents; use --objective val_slot_f1\n"
    )
    assert not directory.exists()


def test_missing_dataset_prints_one_line_and_writes_nothing(tmp_path, capsys):
    directory = tmp_path / "tuning"
    code = run_main([*TINY, "--data", str(tmp_path / "no-such-folder"), "--directory", str(directory)])
    error = capsys.readouterr().err
    assert code == 2
    assert error.count("\n") == 1 and "no-such-folder" in error
    assert not directory.exists()


# ---------------------------------------------------------------------------
# The search space and the hypermodel
# ---------------------------------------------------------------------------


def test_unit_choices_double_from_the_narrowest_to_the_widest():
    assert hypermodel.unit_choices(32, 512) == [32, 64, 128, 256, 512]
    assert hypermodel.unit_choices(48, 64) == [48, 64]
    assert hypermodel.unit_choices(16, 16) == [16]


def test_flags_narrow_the_search_space():
    args = parse_search(
        [
            "--cells",
            "lstm,gru",
            "--max-depth",
            "2",
            "--min-units",
            "32",
            "--max-units",
            "128",
            "--no-bidirectional",
            "--heads",
            "crf",
            "--min-dropout",
            "0.2",
            "--max-dropout",
            "0.2",
        ]
    )
    hp = keras_tuner.HyperParameters()
    values = hypermodel.declare_space(hp, args)
    space = {item.name: item for item in hp.space}
    assert list(values) == [name for name in hypermodel.HYPERPARAMETERS if name != "intent_weight"]
    assert space["cell"].values == ["lstm", "gru"]
    assert (space["depth"].min_value, space["depth"].max_value) == (1, 2)
    assert space["units"].values == [32, 64, 128]
    assert type(space["bidirectional"]).__name__ == "Fixed"
    assert values["bidirectional"] is False
    assert values["head"] == "crf" and values["dropout"] == 0.2
    assert (space["learning_rate"].min_value, space["learning_rate"].max_value) == (5e-4, 1e-2)
    assert space["learning_rate"].sampling == "log"
    assert "intent_weight" not in space and values["intent"] is False  # without intents: no intent head


def test_intent_weight_joins_the_space_with_intents_and_the_intent_flags_are_fixed():
    args = parse_search(["--min-intent-weight", "0.5", "--max-intent-weight", "2", "--intent-to-slots"])
    hp = keras_tuner.HyperParameters()
    values = hypermodel.declare_space(hp, args, with_intents=True)
    space = {item.name: item for item in hp.space}
    assert list(values) == list(hypermodel.HYPERPARAMETERS)
    weight = space["intent_weight"]
    assert type(weight).__name__ == "Float" and weight.sampling == "log"
    assert (weight.min_value, weight.max_value) == (0.5, 2.0) and 0.5 <= values["intent_weight"] <= 2.0
    for name, value in (("intent", True), ("intent_pooling", "attention"), ("intent_to_slots", True)):
        assert type(space[name]).__name__ == "Fixed" and values[name] == value
    defaults = parse_search([])
    assert defaults.space["intent_weight"] == (WEIGHT_SEARCH.low, WEIGHT_SEARCH.high)
    assert defaults.options.objective == "val_slot_f1" and defaults.settings.intent is True
    fixed = parse_search(["--min-intent-weight", "1.5", "--max-intent-weight", "1.5"])
    hp = keras_tuner.HyperParameters()
    assert hypermodel.declare_space(hp, fixed, with_intents=True)["intent_weight"] == 1.5
    assert type({item.name: item for item in hp.space}["intent_weight"]).__name__ == "Fixed"


def test_the_hypermodel_searches_the_intent_weight_only_where_the_data_has_intents(tiny_data, data_without_intents):
    for folder, flags, searched in (
        (tiny_data, [], True),
        (tiny_data, ["--no-intent"], False),
        (data_without_intents, [], False),
    ):
        request = parse_search([*TINY, "--data", str(folder), *flags])
        dataset = recipe.load_data(request.settings)
        trials = hypermodel.SlotFillingHyperModel(request, recipe.fit_encoder(dataset.train), dataset)
        hp = keras_tuner.HyperParameters()
        model = trials.build(hp)
        assert ("intent_weight" in hp.values) is searched
        assert hp.values["intent"] is searched
        assert isinstance(model.output, dict) is searched  # the intent head beside the tags


def test_compile_gets_the_trials_intent_weight(tiny_data, monkeypatch):
    encoder = recipe.fit_encoder(data.load_dataset(str(tiny_data)).train)
    seen = []
    monkeypatch.setattr(hypermodel, "compile_model", lambda model, rate, weight: seen.append((rate, weight)) or model)
    values = {
        "cell": "gru",
        "depth": 1,
        "units": 8,
        "bidirectional": False,
        "dropout": 0.1,
        "learning_rate": 0.01,
        "head": "softmax",
        "encoding": "embedding",
        "embedding_dim": 8,
        "window": 1,
    }
    joint = {**values, "intent": True, "intent_pooling": "mean", "intent_to_slots": False, "intent_weight": 2.5}
    model = hypermodel.build_trial_model(encoder, "gru", hypermodel.trial_settings(SHARED, joint))
    assert seen == [(0.01, 2.5)] and isinstance(model.output, dict)
    # A trial of a search saved before the intent head: its values name no intent option, and the
    # search's own settings (resumed with --no-intent, as its search.json requires) fill them in:
    # slots only, at the default weight.
    before_intents = parse_search(["--no-intent"]).settings
    model = hypermodel.build_trial_model(encoder, "gru", hypermodel.trial_settings(before_intents, values))
    assert seen[-1] == (0.01, SHARED.intent_weight) and not isinstance(model.output, dict)


def test_fit_scores_the_best_epoch_and_hands_tuner_callbacks_to_training(tiny_data, monkeypatch):
    request = parse_search([*TINY, "--data", str(tiny_data)])
    dataset = recipe.load_data(request.settings)
    trials = hypermodel.SlotFillingHyperModel(request, recipe.fit_encoder(dataset.train), dataset)
    seen = {}

    def fake_train(model, encoder, dataset, settings, run_dir=None, extra_callbacks=(), initial_epoch=0, state=None):
        seen.update(
            callbacks=list(extra_callbacks),
            epochs=settings.epochs,
            initial_epoch=initial_epoch,
            monitor=settings.monitor,
        )
        return Namespace(best_score=0.75, best_epoch=5)

    monkeypatch.setattr(hypermodel, "train", fake_train)
    hp = keras_tuner.HyperParameters()
    model = trials.build(hp)
    marker = keras.callbacks.Callback()
    result = trials.fit(hp, model, callbacks=[marker], epochs=7, initial_epoch=3)
    assert seen == {"callbacks": [marker], "epochs": 7, "initial_epoch": 3, "monitor": "slot_f1"}
    assert result["val_slot_f1"] == 0.75 and result["best_epoch"] == 5
    assert result["parameters"] == model.count_params()
    assert request.settings.epochs == 1  # the trial's epochs do not leak into the search's flags

    frame = parse_search([*TINY, "--data", str(tiny_data), "--objective", "val_frame_accuracy"])
    trials = hypermodel.SlotFillingHyperModel(frame, recipe.fit_encoder(dataset.train), dataset)
    hp = keras_tuner.HyperParameters()
    result = trials.fit(hp, trials.build(hp), epochs=2)
    assert seen["monitor"] == "frame_accuracy"  # each trial stops early on the objective
    assert result["val_frame_accuracy"] == 0.75 and "val_slot_f1" not in result  # no epoch logs: the best only


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


# ---------------------------------------------------------------------------
# Resuming
# ---------------------------------------------------------------------------


def test_interrupted_search_resumes_without_training_finished_trials_again(tiny_data, tmp_path, monkeypatch):
    flags = [*TINY, "--data", str(tiny_data), "--directory", str(tmp_path / "tuning"), "--no-retrain"]
    project_dir = tmp_path / "tuning" / "tiny"
    trained = []
    original_fit = hypermodel.SlotFillingHyperModel.fit
    interrupt_at = {"3"}

    def counting_fit(self, hp, model, *args, **kwargs):
        trained.append(self.trial_id)
        if self.trial_id in interrupt_at:
            raise KeyboardInterrupt  # Ctrl-C in the middle of a trial
        return original_fit(self, hp, model, *args, **kwargs)

    monkeypatch.setattr(hypermodel.SlotFillingHyperModel, "fit", counting_fit)

    assert run_main([*flags, "--max-trials", "2"]) == 0
    assert trained == ["0", "1"]
    first = read_results(project_dir)

    assert run_main([*flags, "--max-trials", "4"]) == 130
    assert trained[2:] == ["2", "3"]
    interrupted_values = json.loads((project_dir / "trial_3" / "trial.json").read_text())["hyperparameters"]["values"]

    interrupt_at.clear()
    assert run_main([*flags, "--max-trials", "4"]) == 0
    assert trained[4:] == ["3"]  # only the interrupted trial ran again
    table = read_results(project_dir)
    assert list(table["trial_id"]) == ["0", "1", "2", "3"]
    assert (table["status"] == "COMPLETED").all()
    pd.testing.assert_frame_equal(table.head(2), first)
    final_values = json.loads((project_dir / "trial_3" / "trial.json").read_text())["hyperparameters"]["values"]
    assert final_values == interrupted_values


# ---------------------------------------------------------------------------
# Distributed: a chief and two workers on 127.0.0.1
# ---------------------------------------------------------------------------


def test_distributed_search_runs_every_trial_once_and_every_process_exits(tiny_data, tmp_path):
    env = dict(os.environ, KERAS_BACKEND=keras.backend.backend(), PYTHONPATH=str(REPO_ROOT))
    for name in ("KERASTUNER_TUNER_ID", "KERASTUNER_ORACLE_IP", "KERASTUNER_ORACLE_PORT"):
        env.pop(name, None)
    completed = subprocess.run(
        [
            sys.executable,
            "-m",
            "recipes.tune",
            *TINY,
            "--data",
            str(tiny_data),
            "--directory",
            "tuning",
            "--max-trials",
            "3",
            "--no-retrain",
            "--distributed",
            "--workers",
            "2",
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-3000:]
    project_dir = tmp_path / "tuning" / "tiny"
    table = read_results(project_dir)
    assert list(table["trial_id"]) == ["0", "1", "2"] and (table["status"] == "COMPLETED").all()
    started, finished = [], []
    for worker in ("tuner0", "tuner1"):
        log = (project_dir / "logs" / f"{worker}.log").read_text()
        started += re.findall(r"^trial (\d+): (?:elman|gru) ", log, flags=re.MULTILINE)
        finished += re.findall(r"^trial (\d+): val_slot_f1 ", log, flags=re.MULTILINE)
    assert sorted(started) == ["0", "1", "2"] and sorted(finished) == ["0", "1", "2"]
    assert "chief: serving trials on 127.0.0.1:" in (project_dir / "logs" / "chief.log").read_text()
