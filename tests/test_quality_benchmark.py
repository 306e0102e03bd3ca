"""benchmarks/quality.py: the table it builds from run folders, and its refusal
to reuse a run folder trained with other settings."""

import importlib
import json
from pathlib import Path

import pandas as pd
import pytest


@pytest.fixture(scope="module")
def quality():
    return importlib.import_module("benchmarks.quality")


def finished_run(quality, runs_dir, name, seed, test_f1, dev_f1, extra=(), data="travel", **changed):
    """A run folder as the recipe leaves it, for the settings quality.py would ask for."""
    args = quality.parse_args(["--data", data, "--runs-dir", str(runs_dir), "--", *extra])
    config = {"recipe": name, **quality.expected_config(name, seed, args), **changed}
    run_dir = Path(runs_dir) / f"{name}-seed{seed}"
    run_dir.mkdir(parents=True)
    (run_dir / "config.json").write_text(json.dumps(config))
    metrics = {
        "recipe": name,
        "data": data,
        "backend": "jax",
        "device": "cpu",
        "dev": {"f1": dev_f1},
        "test": {"f1": test_f1},
        "epochs": 10 + seed,
        "best_epoch": 5,
        "train_seconds": 100.0 + seed,
        "parameters": 1234,
    }
    (run_dir / "metrics.json").write_text(json.dumps(metrics))


def test_table_from_finished_runs_without_training(quality, tmp_path):
    runs = tmp_path / "runs"
    for seed, (test, dev) in enumerate([(0.95, 0.97), (0.96, 0.98), (0.94, 0.96)]):
        finished_run(quality, runs, "gru", seed, test, dev)
    output = tmp_path / "table"
    quality.main(
        ["--data", "travel", "--recipes", "gru", "--seeds", "3", "--runs-dir", str(runs), "--output", str(output)]
    )
    row = pd.read_csv(output.with_suffix(".csv")).iloc[0]
    assert row["recipe"] == "gru"
    assert row["test_f1_mean"] == pytest.approx(95.0)
    assert row["test_f1_std"] == pytest.approx(1.0)
    assert row["test_f1_runs"] == "95.00 96.00 94.00"  # in seed order
    assert row["dev_f1_mean"] == pytest.approx(97.0)
    assert row["epochs_mean"] == pytest.approx(11.0)
    assert row["devices"] == "cpu cpu cpu"
    markdown = output.with_suffix(".md").read_text()
    assert "| gru | default | 3 |" in markdown
    assert "0 run(s) trained now, 3 finished run folder(s)" in markdown


def test_flags_after_the_separator_take_part_in_the_check(quality, tmp_path):
    runs = tmp_path / "runs"
    finished_run(quality, runs, "lstm", 0, 0.9, 0.9, extra=["--units", "64"])
    quality.main(
        [
            "--data",
            "travel",
            "--recipes",
            "lstm",
            "--seeds",
            "1",
            "--runs-dir",
            str(runs),
            "--output",
            str(tmp_path / "table"),
            "--",
            "--units",
            "64",
        ]
    )
    assert pd.read_csv(tmp_path / "table.csv").iloc[0]["test_f1_mean"] == pytest.approx(90.0)


@pytest.mark.parametrize(
    "changed, named",
    [({"units": 7}, "units 7"), ({"head": "softmax"}, "head 'softmax'"), ({"data": "elsewhere/snips"}, "data")],
)
def test_a_run_trained_with_other_settings_is_refused(quality, tmp_path, capsys, changed, named):
    runs = tmp_path / "runs"
    finished_run(quality, runs, "elman", 0, 0.9, 0.9, **changed)
    with pytest.raises(SystemExit) as exit_info:
        quality.main(
            [
                "--data",
                "travel",
                "--recipes",
                "elman",
                "--seeds",
                "1",
                "--runs-dir",
                str(runs),
                "--output",
                str(tmp_path / "table"),
            ]
        )
    assert exit_info.value.code == 2
    error = capsys.readouterr().err.strip()
    assert len(error.splitlines()) == 1
    assert str(runs / "elman-seed0") in error and named in error
    assert not (tmp_path / "table.csv").exists()


@pytest.mark.parametrize("config_text", [None, "{not json", "[1, 2]"])
def test_a_run_folder_without_readable_settings_is_refused(quality, tmp_path, capsys, config_text):
    runs = tmp_path / "runs"
    finished_run(quality, runs, "gru", 0, 0.9, 0.9)
    config = runs / "gru-seed0" / "config.json"
    if config_text is None:
        config.unlink()
    else:
        config.write_text(config_text)
    with pytest.raises(SystemExit) as exit_info:
        quality.main(
            [
                "--data",
                "travel",
                "--recipes",
                "gru",
                "--seeds",
                "1",
                "--runs-dir",
                str(runs),
                "--output",
                str(tmp_path / "table"),
            ]
        )
    assert exit_info.value.code == 2
    error = capsys.readouterr().err.strip()
    assert len(error.splitlines()) == 1 and str(config) in error
