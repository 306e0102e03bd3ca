"""The search folder (`recipes.search.folder`): keras-tuner's state kept as a last good copy
after every finished trial, and put back where a file no longer parses."""

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest

from recipes import tune
from recipes.config.errors import UsageError
from recipes.config.formats import SEARCH_BEFORE_INTENTS
from recipes.search import hypermodel, results
from recipes.search.command_line import parse_search
from recipes.search.folder import prepare_project, search_settings
from support import TINY_SEARCH, exit_status


def read_results(project_dir):
    return pd.read_csv(project_dir / "results.csv", dtype={"trial_id": str})


def test_a_truncated_oracle_json_is_restored_from_the_last_good_copy_and_the_search_resumes(
    tiny_data, tmp_path, monkeypatch, capsys
):
    flags = [*TINY_SEARCH, "--data", str(tiny_data), "--directory", str(tmp_path / "tuning"), "--no-retrain"]
    project_dir = tmp_path / "tuning" / "tiny"
    trained = []
    original_fit = hypermodel.SlotFillingHyperModel.fit

    def counting_fit(self, hp, model, *args, **kwargs):
        trained.append(self.trial_id)
        return original_fit(self, hp, model, *args, **kwargs)

    monkeypatch.setattr(hypermodel.SlotFillingHyperModel, "fit", counting_fit)
    assert exit_status(tune.main, [*flags, "--max-trials", "2"]) == 0
    saved = (project_dir / "last_good" / "oracle.json").read_bytes()
    assert saved == (project_dir / "oracle.json").read_bytes()
    first = read_results(project_dir)

    oracle = project_dir / "oracle.json"
    oracle.write_bytes(oracle.read_bytes()[: len(saved) // 2])  # killed while keras-tuner rewrote it
    capsys.readouterr()
    assert exit_status(tune.main, [*flags, "--max-trials", "3"]) == 0
    restored = [line for line in capsys.readouterr().out.splitlines() if "restored" in line]
    assert restored == [
        f"{oracle}: not valid JSON (a search stopped while writing it); restored the copy saved "
        "after the last finished trial"
    ]
    assert trained == ["0", "1", "2"]  # the finished trials did not run again
    table = read_results(project_dir)
    assert list(table["trial_id"]) == ["0", "1", "2"] and (table["status"] == "COMPLETED").all()
    pd.testing.assert_frame_equal(table.head(2), first)


def test_a_damaged_trial_file_without_a_copy_is_refused_with_one_line(tiny_data, tmp_path, capsys):
    flags = [*TINY_SEARCH, "--data", str(tiny_data), "--directory", str(tmp_path / "tuning"), "--no-retrain"]
    project_dir = tmp_path / "tuning" / "tiny"
    assert exit_status(tune.main, [*flags, "--max-trials", "1"]) == 0
    shutil.rmtree(project_dir / "last_good")
    (project_dir / "trial_0" / "trial.json").write_text('{"trial_id": "0", "hyperpa')
    capsys.readouterr()
    assert exit_status(tune.main, [*flags, "--max-trials", "2"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [
        f"python -m recipes.tune: error: {project_dir / 'trial_0' / 'trial.json'}: not valid JSON and no "
        f"copy of it in {project_dir / 'last_good'}; use --overwrite or another --project-name"
    ]


def test_a_search_saved_before_the_intent_flags_resumes_as_one_without_an_intent_head(tiny_data, tmp_path):
    def args_of(*flags):
        return parse_search([*TINY_SEARCH, "--data", str(tiny_data), "--directory", str(tmp_path), *flags])

    project_dir = tmp_path / "tiny"
    project_dir.mkdir()
    saved = {
        name: value
        for name, value in search_settings(args_of("--no-intent")).items()
        if name not in SEARCH_BEFORE_INTENTS
    }
    (project_dir / "search.json").write_text(json.dumps({"flags": saved}))
    assert prepare_project(args_of("--no-intent", "--intent-pooling", "mean"), "single") == project_dir
    with pytest.raises(UsageError) as refused:
        prepare_project(args_of("--min-intent-weight", "0.5"), "single")
    assert f"{project_dir} holds a search made with --no-intent, not --intent: repeat its flags" in str(refused.value)
    with pytest.raises(UsageError) as refused:
        prepare_project(args_of("--no-intent", "--objective", "val_slot_f1", "--epochs", "2"), "single")
    assert "made with --epochs 1, not --epochs 2" in str(refused.value)


# A search made by the code before files carried a version (tests/fixtures/folders_before_versions/README.md):
# two trials of TINY_SEARCH on the built-in travel data cut to 60 training sentences.
OLD_SEARCH = Path(__file__).resolve().parent / "fixtures" / "folders_before_versions" / "search"


def test_a_search_saved_before_versions_resumes_keeping_its_trials_and_gets_the_current_version(tmp_path, monkeypatch):
    directory = tmp_path / "searches"
    shutil.copytree(OLD_SEARCH, directory)
    project_dir = directory / "travel"
    old_flags = json.loads((project_dir / "search.json").read_text())["flags"]
    before = results.load_trials(project_dir)
    assert [trial["trial_id"] for trial in before] == ["0", "1"]
    trained = []
    original_fit = hypermodel.SlotFillingHyperModel.fit

    def counting_fit(self, hp, model, *args, **kwargs):
        trained.append(self.trial_id)
        return original_fit(self, hp, model, *args, **kwargs)

    monkeypatch.setattr(hypermodel.SlotFillingHyperModel, "fit", counting_fit)
    flags = [*TINY_SEARCH, "--data", "travel", "--max-train", "60", "--directory", str(directory), "--no-retrain"]
    assert exit_status(tune.main, [*flags, "--max-trials", "3"]) == 0
    assert trained == ["2"]  # exactly one more trial; the two old ones did not run again
    after = results.load_trials(project_dir)
    assert [trial["trial_id"] for trial in after] == ["0", "1", "2"]
    for old, kept in zip(before, after):
        assert (kept["values"], kept["score"], kept["status"]) == (old["values"], old["score"], old["status"])
    table = read_results(project_dir)
    assert list(table["trial_id"]) == ["0", "1", "2"] and (table["status"] == "COMPLETED").all()
    assert json.loads((project_dir / "search.json").read_text()) == {
        "format": "slot-rnn-search",
        "version": 2,
        "flags": old_flags,
    }
