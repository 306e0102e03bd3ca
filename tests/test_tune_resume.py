"""Searches that stop and go on (`recipes.tune`): an interrupted search resumed without training
its finished trials again, and a distributed search (a chief and two workers on 127.0.0.1) that runs
every trial once. On the tiny data of `support.tune_data`, with every trial tiny.
"""

import json
import os
import re
import subprocess
import sys

import keras
import pandas as pd

from recipes.config.errors import TrainingDiverged
from recipes.search import hypermodel
from support import REPO_ROOT, read_results
from support import TINY_TUNE as TINY
from support import run_tune as run_main
from support import tune_data as tiny_data  # noqa: F401  (a fixture of this module)

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


def test_a_search_whose_trials_keep_failing_stops_with_one_line_and_status_1(tiny_data, tmp_path, monkeypatch, capsys):
    def diverging(*args, **kwargs):
        raise TrainingDiverged("training stopped: the loss became NaN or infinite in epoch 1")

    monkeypatch.setattr(hypermodel, "train", diverging)
    project_dir = tmp_path / "tuning" / "tiny"
    flags = [*TINY, "--data", str(tiny_data), "--directory", str(tmp_path / "tuning"), "--no-retrain"]
    capsys.readouterr()
    assert run_main([*flags, "--max-trials", "6"]) == 1
    captured = capsys.readouterr()
    # Each failed trial is one line of the search's own; keras-tuner prints its traceback besides (its
    # DEBUG setting, which its public API does not expose). The command's error is the last line.
    assert captured.out.count(": failed: training stopped: the loss became NaN") == 3
    last = captured.err.strip().splitlines()[-1]
    assert last == (
        "python -m recipes.tune: error: the search stopped: 3 trials in a row failed (last: keras_tuner.src.errors."
        "FailedTrialError: training stopped: the loss became NaN or infinite in epoch 1); run again to retry"
    )
    # keras-tuner stops at its limit of failures in a row; the table holds them, each with its error.
    table = read_results(project_dir)
    assert list(table["status"]) == ["FAILED"] * 3
    assert table["error"].str.contains("loss became NaN").all()
