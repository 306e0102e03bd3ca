"""Checkpoints and `--resume`: damaged checkpoints are refused, interrupted runs and searches resume
to exactly the uninterrupted result."""

import io
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from recipes import lstm, tune
from recipes.config import flags, settings
from recipes.search import hypermodel, results
from recipes.training import checkpoints
from recipes.training import monitor as dev_monitor
from support import (  # noqa: F401  (compilation_cache: an autouse fixture of this module)
    TINY_SEARCH,
    assert_same_training,
    compilation_cache,
    exit_status,
    leftovers,
    one_line_error,
    recipe_argv,
    subprocess_env,
    trained_state,
)

# ---------------------------------------------------------------------------
# Damaged run folders: --resume
# ---------------------------------------------------------------------------


def edit_json(name, change):
    def apply(folder):
        path = folder / name
        value = json.loads(path.read_text())
        path.write_text(json.dumps(change(value)))

    return apply


def replace_file(name, content):
    def apply(folder):
        if content is None:
            (folder / name).unlink()
        else:
            (folder / name).write_bytes(content)

    return apply


def pickled_npz():
    buffer = io.BytesIO()
    np.savez(buffer, np.array([{"payload": "object"}], dtype=object))
    return buffer.getvalue()


DAMAGED_CHECKPOINTS = {
    "state_garbage": (replace_file("checkpoint/state.json", b"{\n garbage"), ["state.json line 2: not valid JSON"]),
    "state_a_list": (replace_file("checkpoint/state.json", b"[3]"), ["state.json: expected a JSON object, got list"]),
    "state_epochs_text": (
        edit_json("checkpoint/state.json", lambda s: {**s, "epochs_done": "two"}),
        ["state.json: 'epochs_done' is missing or of the wrong type ('two')"],
    ),
    "state_epochs_zero": (
        edit_json("checkpoint/state.json", lambda s: {**s, "epochs_done": 0}),
        ["state.json: 'epochs_done' must be at least 1, got 0"],
    ),
    "state_best_missing": (
        edit_json("checkpoint/state.json", lambda s: {k: v for k, v in s.items() if k != "best_score"}),
        ["state.json: 'best_score' is missing"],
    ),
    "state_optimizer_file_unknown": (
        edit_json("checkpoint/state.json", lambda s: {**s, "optimizer_file": "adam.npz"}),
        ["state.json: 'optimizer_file' must be one of last.weights.h5, optimizer.npz, got 'adam.npz'"],
    ),
    "state_newer_version": (
        edit_json("checkpoint/state.json", lambda s: {**s, "version": 3}),
        ["state.json: version 3 of the slot-rnn-checkpoint-state format, newer than version 2"],
    ),
    "state_another_format": (
        edit_json("checkpoint/state.json", lambda s: {**s, "format": "slot-rnn-metrics"}),
        ["state.json: 'format' is 'slot-rnn-metrics', expected 'slot-rnn-checkpoint-state'"],
    ),
    "state_seeds_short": (
        edit_json("checkpoint/state.json", lambda s: {**s, "seed_states": s["seed_states"][:1]}),
        ["state.json: 'seed_states' does not fit the model"],
    ),
    "state_seeds_negative": (
        edit_json("checkpoint/state.json", lambda s: {**s, "seed_states": [[-1, 0]] * len(s["seed_states"])}),
        ["state.json: 'seed_states' does not fit the model"],
    ),
    "config_missing": (replace_file("config.json", None), ["config.json: missing"]),
    "config_units_text": (
        edit_json("config.json", lambda c: {**c, "units": "many"}),
        ["config.json: its model flags do not build a model"],
    ),
    "config_depth_missing": (
        edit_json("config.json", lambda c: {k: v for k, v in c.items() if k != "depth"}),
        ["config.json: 'depth' is missing"],
    ),
    "encoder_tampered": (
        edit_json("encoder.json", lambda c: {**c, "words": c["words"] + ["extra"]}),
        ["last.weights.h5: does not fit the model that config.json and encoder.json describe"],
    ),
    "encoder_garbage": (replace_file("encoder.json", b"\xff\xfe"), ["encoder.json: bytes that are not UTF-8"]),
    "weights_garbage": (
        replace_file("checkpoint/last.weights.h5", b"\x89HDF garbage"),
        ["last.weights.h5: cannot be loaded"],
    ),
    "weights_missing": (replace_file("checkpoint/last.weights.h5", None), ["last.weights.h5: missing"]),
    "weights_without_optimizer": (  # the layers' weights alone, as best.weights.h5 holds them
        lambda folder: shutil.copy(folder / "checkpoint/best.weights.h5", folder / "checkpoint/last.weights.h5"),
        ["last.weights.h5: holds no optimizer state"],
    ),
}
# Checkpoints of version 1 (tests/fixtures/folders_before_versions/run-unfinished, written by the code
# before files carried a version) hold the optimizer's state in optimizer.npz, and "best_f1".
OLD_UNFINISHED = Path(__file__).resolve().parent / "fixtures" / "folders_before_versions" / "run-unfinished"
DAMAGED_OLD_CHECKPOINTS = {
    "state_best_missing": (
        edit_json("checkpoint/state.json", lambda s: {k: v for k, v in s.items() if k != "best_f1"}),
        ["state.json: 'best_f1' is missing"],
    ),
    "optimizer_garbage": (
        replace_file("checkpoint/optimizer.npz", b"PK\x03\x04 garbage"),
        ["optimizer.npz: cannot be loaded"],
    ),
    "optimizer_pickled": (
        replace_file("checkpoint/optimizer.npz", pickled_npz()),
        ["optimizer.npz: cannot be loaded", "allow_pickle=False"],
    ),
    "optimizer_missing": (replace_file("checkpoint/optimizer.npz", None), ["optimizer.npz: missing"]),
    "state_seeds_short": (
        edit_json("checkpoint/state.json", lambda s: {**s, "seed_states": s["seed_states"][:1]}),
        ["state.json: 'seed_states' does not fit the model"],
    ),
    "config_newer_version": (
        edit_json("config.json", lambda c: {"format": "slot-rnn-run-config", "version": 3, **c}),
        ["config.json: version 3 of the slot-rnn-run-config format, newer than version 2"],
    ),
}


@pytest.mark.parametrize("name", sorted(DAMAGED_CHECKPOINTS))
def test_resume_refuses_a_damaged_checkpoint_with_one_line_and_changes_nothing(
    name, straight_run, tiny_data, tmp_path, capsys
):
    folder = tmp_path / "run"
    shutil.copytree(straight_run, folder)
    damage, fragments = DAMAGED_CHECKPOINTS[name]
    damage(folder)
    before = {path: path.read_bytes() for path in folder.rglob("*") if path.is_file()}
    assert exit_status(lstm.main, recipe_argv(tiny_data, folder, "--epochs", "4", "--resume")) == 2
    one_line_error(capsys, *fragments, prefix="python -m recipes.lstm: error: ")
    assert {path: path.read_bytes() for path in folder.rglob("*") if path.is_file()} == before


@pytest.mark.parametrize("name", sorted(DAMAGED_OLD_CHECKPOINTS))
def test_resume_refuses_a_damaged_version_1_checkpoint_with_one_line_and_changes_nothing(
    name, tiny_data, tmp_path, capsys
):
    folder = tmp_path / "run"
    shutil.copytree(OLD_UNFINISHED, folder)
    damage, fragments = DAMAGED_OLD_CHECKPOINTS[name]
    damage(folder)
    before = {path: path.read_bytes() for path in folder.rglob("*") if path.is_file()}
    assert exit_status(lstm.main, recipe_argv(tiny_data, folder, "--epochs", "4", "--resume")) == 2
    one_line_error(capsys, *fragments, prefix="python -m recipes.lstm: error: ")
    assert {path: path.read_bytes() for path in folder.rglob("*") if path.is_file()} == before


# ---------------------------------------------------------------------------
# Interruptions
# ---------------------------------------------------------------------------


def test_a_run_interrupted_after_an_epoch_resumes_to_the_uninterrupted_result(
    tiny_data, straight_state, tmp_path, capsys, monkeypatch
):
    run_dir = tmp_path / "run"
    argv = recipe_argv(tiny_data, run_dir, "--epochs", "3")
    original = dev_monitor.DevMonitor.on_epoch_end

    def interrupt_in_epoch_two(self, epoch, logs=None):
        original(self, epoch, logs)
        if epoch == 1:
            raise KeyboardInterrupt  # Ctrl-C while epoch 2 is being scored

    monkeypatch.setattr(dev_monitor.DevMonitor, "on_epoch_end", interrupt_in_epoch_two)
    assert exit_status(lstm.main, argv) == 130
    one_line_error(
        capsys, f"--resume --output-dir {run_dir}", prefix="python -m recipes.lstm: interrupted; ", kind="interrupted"
    )
    assert not (run_dir / "metrics.json").exists() and not (run_dir / "model.keras").exists()
    assert json.loads((run_dir / "checkpoint" / "state.json").read_text())["epochs_done"] == 1
    monkeypatch.setattr(dev_monitor.DevMonitor, "on_epoch_end", original)

    assert exit_status(lstm.main, argv + ["--resume"]) == 0
    assert_same_training(trained_state(run_dir), straight_state)
    assert len((run_dir / "history.csv").read_text().splitlines()) == 1 + 3
    assert leftovers(run_dir) == []


def test_a_finished_run_continued_with_resume_equals_a_longer_run(tiny_data, straight_state, tmp_path):
    run_dir = tmp_path / "run"
    assert exit_status(lstm.main, recipe_argv(tiny_data, run_dir, "--epochs", "2")) == 0
    assert exit_status(lstm.main, recipe_argv(tiny_data, run_dir, "--epochs", "3", "--resume")) == 0
    assert_same_training(trained_state(run_dir), straight_state)


def test_a_run_killed_with_sigkill_resumes_to_the_uninterrupted_result(
    tiny_data, straight_state, tmp_path, compilation_cache
):
    run_dir = tmp_path / "run"
    argv = recipe_argv(tiny_data, run_dir, "--epochs", "3")
    state_path = run_dir / "checkpoint" / "state.json"
    process = subprocess.Popen(
        [sys.executable, "-m", "recipes.lstm", *argv],
        cwd=tmp_path,
        env=subprocess_env(compilation_cache),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 300
    try:
        while not state_path.exists() and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.01)
        process.send_signal(signal.SIGKILL)  # the first epoch is checkpointed: kill it in the second
    finally:
        process.kill()
        process.wait()
    assert process.returncode == -signal.SIGKILL
    killed_at = json.loads(state_path.read_text())["epochs_done"]
    assert 1 <= killed_at <= 3
    assert not (run_dir / "metrics.json").exists() and not (run_dir / "model.keras").exists()

    assert exit_status(lstm.main, argv + ["--resume"]) == 0
    assert_same_training(trained_state(run_dir), straight_state)
    assert len((run_dir / "history.csv").read_text().splitlines()) == 1 + 3
    assert leftovers(run_dir) == []


def test_a_checkpoint_interrupted_while_saving_resumes_from_one_consistent_epoch(
    straight_run, straight_state, tmp_path
):
    # Killed before state.json recorded epoch 4: its staged files and a half-written one are dropped.
    folder = tmp_path / "before-commit"
    shutil.copytree(straight_run, folder)
    checkpoint = folder / "checkpoint"
    (checkpoint / "epoch-4.last.weights.h5").write_bytes(b"half of epoch 4")
    (checkpoint / ".partial.epoch-4.optimizer.npz").write_bytes(b"half")
    with open(folder / "history.csv", "a") as history:
        history.write("3,1.0,0.1,0.5\n")  # epoch 4 was logged, never checkpointed
    assert_same_training(trained_state(folder), straight_state)
    assert leftovers(folder) == []
    assert len((folder / "history.csv").read_text().splitlines()) == 1 + 3

    # Killed after state.json recorded epoch 3 but before its files were moved into place.
    folder = tmp_path / "after-commit"
    shutil.copytree(straight_run, folder)
    checkpoint = folder / "checkpoint"
    os.replace(checkpoint / "last.weights.h5", checkpoint / "epoch-3.last.weights.h5")
    shutil.copy(checkpoint / "best.weights.h5", checkpoint / "last.weights.h5")  # an older epoch's file
    (checkpoint / "optimizer.npz").write_bytes(b"older")  # a version 1 checkpoint's, no longer read
    assert_same_training(trained_state(folder), straight_state)
    assert leftovers(folder) == []
    assert not (checkpoint / "optimizer.npz").exists()

    # The same in a version 1 checkpoint, whose optimizer.npz was staged too: it resumes as the checkpoint saved.
    saved = tmp_path / "version-1"
    shutil.copytree(OLD_UNFINISHED, saved)
    folder = tmp_path / "version-1-after-commit"
    shutil.copytree(OLD_UNFINISHED, folder)
    checkpoint = folder / "checkpoint"
    for name in ("last.weights.h5", "optimizer.npz"):
        os.replace(checkpoint / name, checkpoint / f"epoch-2.{name}")
    shutil.copy(checkpoint / "best.weights.h5", checkpoint / "last.weights.h5")  # an older epoch's file
    (checkpoint / "optimizer.npz").write_bytes(b"older")
    assert_same_training(trained_state(folder), trained_state(saved))
    assert leftovers(folder) == []
    assert sorted(path.name for path in checkpoint.iterdir()) == [
        "best.weights.h5",
        "last.weights.h5",
        "optimizer.npz",
        "state.json",
    ]


def test_a_tuning_search_killed_mid_trial_keeps_its_finished_trials(
    tiny_data, tmp_path, monkeypatch, compilation_cache
):
    argv = [
        "--data",
        str(tiny_data),
        *TINY_SEARCH,
        "--directory",
        str(tmp_path / "tuning"),
        "--max-trials",
        "2",
        "--no-retrain",
    ]
    project = tmp_path / "tuning" / "tiny"
    process = subprocess.Popen(
        [sys.executable, "-m", "recipes.tune", *argv],
        cwd=tmp_path,
        env=subprocess_env(compilation_cache),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 300
    try:
        while process.poll() is None and time.monotonic() < deadline:
            if (project / "results.csv").exists() and (project / "trial_1" / "trial.json").exists():
                break  # trial 0 is in the table and trial 1 has begun
            time.sleep(0.01)
        time.sleep(0.5)  # trial 1 is compiling or training now
        process.send_signal(signal.SIGKILL)
    finally:
        process.kill()
        process.wait()
    assert process.returncode == -signal.SIGKILL
    table = pd.read_csv(project / "results.csv", dtype={"trial_id": str})
    assert list(table["trial_id"]) == ["0"] and list(table["status"]) == ["COMPLETED"]
    finished = results.load_trials(project)[0]

    trained = []
    original_fit = hypermodel.SlotFillingHyperModel.fit

    def counting_fit(self, hp, model, *args, **kwargs):
        trained.append(self.trial_id)
        return original_fit(self, hp, model, *args, **kwargs)

    monkeypatch.setattr(hypermodel.SlotFillingHyperModel, "fit", counting_fit)
    assert exit_status(tune.main, argv) == 0
    assert trained == ["1"]
    table = pd.read_csv(project / "results.csv", dtype={"trial_id": str})
    assert list(table["trial_id"]) == ["0", "1"] and (table["status"] == "COMPLETED").all()
    again = results.load_trials(project)[0]
    assert (again["values"], again["score"]) == (finished["values"], finished["score"])


def test_resume_keeps_the_saved_runs_head_and_intent_weight(tmp_path):
    # The weight's default follows the head: a softmax run resumed by a recipe whose default head is the CRF
    # must go on with the weight it trained with, not the CRF's.
    saved = settings.Settings(head="softmax", intent_weight=0.1, monitor="frame_accuracy")
    (tmp_path / "config.json").write_text(json.dumps(settings.as_config(saved)), encoding="utf-8")
    command_line = flags.parse_settings(["--intent-weight", "2"], "python -m recipes.lstm", "", lstm.DEFAULTS)
    assert (command_line.head, command_line.intent_weight) == ("crf", 2.0)
    resumed = checkpoints.resumed_settings(command_line, tmp_path)
    assert (resumed.head, resumed.intent_weight, resumed.monitor) == ("softmax", 0.1, "frame_accuracy")
