"""benchmarks/patience.py: early stopping replayed on run folders, and its refusals."""

import json

import pandas as pd
import pytest

from benchmarks import patience


def finished_run(folder, dev_f1s, patience_trained, best_epoch, seed=0, data="../somewhere/atis", seconds=10.0):
    """A run folder as a recipe leaves it: settings, one history row per epoch, metrics."""
    folder.mkdir(parents=True)
    config = {"recipe": "lstm", "data": data, "seed": seed, "patience": patience_trained, "monitor": "slot_f1"}
    (folder / "config.json").write_text(json.dumps(config))
    metrics = {"recipe": "lstm", "epochs": len(dev_f1s), "best_epoch": best_epoch, "dev": {}, "test": {}}
    (folder / "metrics.json").write_text(json.dumps(metrics))
    rows = [{"epoch": i, "loss": 0.1, "seconds": seconds, "val_slot_f1": f1} for i, f1 in enumerate(dev_f1s)]
    pd.DataFrame(rows).to_csv(folder / "history.csv", index=False)


def test_replays_shorter_patience_on_finished_runs(tmp_path):
    runs = tmp_path / "runs"
    # Seed 0 improves at epoch 6 after three epochs without; seed 1 never after epoch 2. Both trained with patience 4.
    finished_run(runs / "lstm-seed0", [0.90, 0.95, 0.94, 0.93, 0.94, 0.97, 0.96, 0.96, 0.96, 0.96], 4, 6)
    finished_run(runs / "lstm-seed1", [0.91, 0.96, 0.95, 0.95, 0.95, 0.95], 4, 2, seed=1, seconds=20.0)
    output = tmp_path / "table"
    patience.main([str(runs), "--patience", "3,2,4", "--output", str(output)])
    table = pd.read_csv(output.with_suffix(".csv")).set_index("patience")
    assert list(table.index) == [2, 3, 4] and set(table["data"]) == {"atis"} and set(table["runs"]) == {2}
    assert list(table["kept_epochs"]) == ["2 2", "2 2", "6 2"]
    assert list(table["epochs_trained"]) == ["4 4", "5 5", "10 6"]
    assert list(table["same_epoch"]) == [1, 1, 2]
    assert table.loc[3, "dev_mean"] == pytest.approx(95.5)
    assert table.loc[3, "dev_change"] == pytest.approx(-1.0)  # seed 0 keeps 0.95 instead of 0.97
    assert table.loc[4, "dev_change"] == pytest.approx(0.0)
    assert table.loc[2, "seconds_mean"] == pytest.approx(60.0)  # 4 epochs of 10 s and 4 of 20 s
    assert table.loc[2, "time_share"] == pytest.approx(120 / 220, abs=1e-5)
    markdown = output.with_suffix(".md").read_text()
    assert "| atis | lstm | 3 | 2 | 2 2 | 5 5 | 1 | 95.50 | -1.00 | 5.0 | 75.0 | 68% |" in markdown


@pytest.mark.parametrize(
    "case,message",
    [
        ("longer", "--patience 5: {run} trained with patience 4, so it cannot tell where a longer one would stop"),
        ("mismatch", "history.csv: replaying patience 4 gives best epoch 2 of 6, the run says 3 of 6"),
        ("unfinished", "metrics.json: missing (the run has not finished?)"),
        ("empty", "neither a run folder nor a folder of run folders"),
        ("no_patience", "config.json: 'patience' is missing"),
        ("bad_json", "metrics.json line 1: not valid JSON"),
    ],
)
def test_runs_it_cannot_replay_exit_2_with_one_line(tmp_path, capsys, case, message):
    run = tmp_path / "runs" / "lstm-seed0"
    scores = [0.91, 0.96, 0.95, 0.95, 0.95, 0.95]
    if case == "empty":
        run.mkdir(parents=True)
    else:
        finished_run(run, scores, 4, 3 if case == "mismatch" else 2)
    if case == "unfinished":
        (run / "metrics.json").unlink()
    if case == "no_patience":
        (run / "config.json").write_text(json.dumps({"data": "atis", "seed": 0}))
    if case == "bad_json":
        (run / "metrics.json").write_text("{not json")
    with pytest.raises(SystemExit) as exit_info:
        patience.main([str(tmp_path / "runs"), "--patience", "5" if case == "longer" else "3"])
    assert exit_info.value.code == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and error.startswith("python -m benchmarks.patience: error: ")
    assert message.format(run=run) in error


def test_a_bad_patience_list_is_refused(capsys):
    with pytest.raises(SystemExit) as exit_info:
        patience.main(["runs", "--patience", "0,3"])
    assert exit_info.value.code == 2
    assert "--patience: expected positive integers separated by commas, got '0,3'" in capsys.readouterr().err
