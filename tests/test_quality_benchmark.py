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


def finished_run(
    quality, runs_dir, name, seed, test_f1, dev_f1, extra=(), data="travel", intents=None, history=None, **changed
):
    """A run folder as the recipe leaves it, for the settings quality.py would ask for;
    `intents`: `{"test": (intent accuracy, frame accuracy), "dev": (...)}` of a run with an intent head;
    `history`: (seconds, dev slot F1) of every epoch (default: 10 s each, `dev_f1` from the first)."""
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
    for split, (intent_accuracy, frame_accuracy) in (intents or {}).items():
        metrics[split].update(intent_accuracy=intent_accuracy, frame_accuracy=frame_accuracy)
    (run_dir / "metrics.json").write_text(json.dumps(metrics))
    history = history or [(10.0, dev_f1)] * metrics["epochs"]
    rows = [
        {"epoch": epoch, "loss": 0.1, "seconds": seconds, "val_slot_f1": f1}
        for epoch, (seconds, f1) in enumerate(history)
    ]
    pd.DataFrame(rows).to_csv(run_dir / "history.csv", index=False)


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


def test_table_without_intents_has_no_intent_columns(quality, tmp_path):
    runs = tmp_path / "runs"
    finished_run(quality, runs, "gru", 0, 0.95, 0.97)
    output = tmp_path / "table"
    quality.main(
        ["--data", "travel", "--recipes", "gru", "--seeds", "1", "--runs-dir", str(runs), "--output", str(output)]
    )
    table = pd.read_csv(output.with_suffix(".csv"))
    assert not [name for name in table.columns if "intent" in name or "frame" in name]
    markdown = output.with_suffix(".md").read_text()
    header = next(line for line in markdown.splitlines() if line.startswith("| recipe"))
    assert markdown.startswith("# Test slot F1 over seeds\n") and "intent" not in header and "frame" not in header


def test_runs_with_intents_report_intent_and_frame_accuracy_over_seeds(quality, tmp_path, capsys):
    runs = tmp_path / "runs"
    scores = [((0.95, 0.97), (0.98, 0.90), (0.99, 0.93)), ((0.96, 0.98), (0.96, 0.88), (0.97, 0.91))]
    for seed, ((test, dev), test_intent, dev_intent) in enumerate(scores):
        finished_run(quality, runs, "lstm", seed, test, dev, intents={"test": test_intent, "dev": dev_intent})
    for seed, test in enumerate([0.9, 0.92]):  # runs without an intent head: blank intent cells
        finished_run(quality, runs, "gru", seed, test, 0.9)
    output = tmp_path / "table"
    quality.main(
        ["--data", "travel", "--recipes", "lstm,gru", "--seeds", "2", "--runs-dir", str(runs), "--output", str(output)]
    )
    assert "lstm seed 1: test F1 96.00, intent accuracy 96.00, frame accuracy 88.00 (dev F1 98.00" in (
        capsys.readouterr().out
    )
    table = pd.read_csv(output.with_suffix(".csv")).set_index("recipe")
    lstm = table.loc["lstm"]
    assert lstm["test_f1_mean"] == pytest.approx(95.5)
    assert lstm["test_intent_accuracy_mean"] == pytest.approx(97.0)
    assert lstm["test_intent_accuracy_std"] == pytest.approx(1.41, abs=0.01)
    assert lstm["test_intent_accuracy_runs"] == "98.00 96.00"
    assert lstm["test_frame_accuracy_mean"] == pytest.approx(89.0)
    assert lstm["test_frame_accuracy_runs"] == "90.00 88.00"
    assert lstm["dev_intent_accuracy_mean"] == pytest.approx(98.0)
    assert lstm["dev_frame_accuracy_mean"] == pytest.approx(92.0)
    gru = table.loc["gru"]
    assert gru["test_f1_mean"] == pytest.approx(91.0)
    assert pd.isna(gru["test_intent_accuracy_mean"]) and pd.isna(gru["test_frame_accuracy_runs"])
    markdown = output.with_suffix(".md").read_text()
    assert markdown.startswith("# Test slot F1, intent accuracy and frame accuracy over seeds\n")
    header = next(line for line in markdown.splitlines() if line.startswith("| recipe"))
    assert "test intent accuracy mean" in header and "test frame accuracy per seed" in header
    assert "| lstm | default | 2 | 95.50 | 0.71 | 95.00 96.00 | 97.00 | 1.41 | 98.00 96.00 | 89.00 |" in markdown


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
    assert error.startswith("python -m benchmarks.quality: error: ")
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
    assert error.startswith("python -m benchmarks.quality: error: ")


def test_time_to_accuracy_from_each_runs_history(quality, tmp_path):
    runs = tmp_path / "runs"
    # Seed 0 first reaches dev F1 0.97 in its third epoch (12 + 10 + 11 s); seed 1 in its second (20 + 9 s).
    # Both have their best epoch at 5: 12+10+11+10+10 = 53 s and 20+9+10+10+10 = 59 s.
    histories = [
        [(12.0, 0.90), (10.0, 0.96), (11.0, 0.971), (10.0, 0.95), (10.0, 0.98)] + [(10.0, 0.97)] * 5,
        [(20.0, 0.93), (9.0, 0.97), (10.0, 0.96), (10.0, 0.97), (10.0, 0.99)] + [(10.0, 0.98)] * 6,
    ]
    for seed, history in enumerate(histories):
        finished_run(quality, runs, "gru", seed, 0.95, 0.98, history=history)
    finished_run(quality, runs, "elman", 0, 0.9, 0.9, history=[(10.0, 0.9)] * 10)  # never reaches 0.97
    output = tmp_path / "table"
    argv = ["--data", "travel", "--recipes", "gru,elman", "--runs-dir", str(runs), "--output", str(output)]
    quality.main([*argv, "--seeds", "1"])
    table = pd.read_csv(output.with_suffix(".csv")).set_index("recipe")
    assert table.loc["gru", "seconds_to_target_mean"] == pytest.approx(33.0)
    assert table.loc["gru", "seconds_to_best_mean"] == pytest.approx(53.0)
    assert pd.isna(table.loc["elman", "seconds_to_target_mean"])
    assert table.loc["elman", "seconds_to_best_mean"] == pytest.approx(50.0)

    quality.main(
        ["--data", "travel", "--recipes", "gru", "--runs-dir", str(runs), "--output", str(output), "--seeds", "2"]
    )
    row = pd.read_csv(output.with_suffix(".csv")).iloc[0]
    assert row["seconds_to_target_mean"] == pytest.approx((33.0 + 29.0) / 2)
    assert row["seconds_to_best_mean"] == pytest.approx((53.0 + 59.0) / 2)

    quality.main([*argv, "--seeds", "1", "--target-f1", "0.9"])
    table = pd.read_csv(output.with_suffix(".csv")).set_index("recipe")
    assert table.loc["gru", "seconds_to_target_mean"] == pytest.approx(12.0)
    assert table.loc["elman", "seconds_to_target_mean"] == pytest.approx(10.0)
