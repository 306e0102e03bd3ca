"""The tuner's command line and its search space (`recipes.tune`, `recipes.search.hypermodel`).

The flags and the one-line errors of bad ones, the hyperparameters the flags allow, and the
hypermodel that builds, compiles and fits one trial; no test here runs a whole search. The data is
tiny (`support.tune_data`: 120 training sentences of the built-in travel data) and has intents, so
every model has an intent head and the intent loss weight is searched too.
"""

import shutil
from argparse import Namespace

import keras
import keras_tuner
import pytest

import data
from recipes.config.settings import SHARED
from recipes.search import hypermodel
from recipes.search.command_line import parse_search
from recipes.training import recipe
from support import TINY_TUNE as TINY
from support import WEIGHT_SEARCH
from support import run_tune as run_main
from support import tune_data as tiny_data  # noqa: F401  (a fixture of this module)


@pytest.fixture(scope="module")
def data_without_intents(tiny_data, tmp_path_factory):
    folder = tmp_path_factory.mktemp("data") / "slots_only"
    shutil.copytree(tiny_data, folder)
    for label in folder.glob("*/label"):
        label.unlink()
    return folder


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
