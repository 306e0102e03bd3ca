"""The versions of config.json, checkpoint/state.json, metrics.json and search.json
(`recipes.config.formats`): each migration from each earlier version, newer
versions refused in one line, and run folders written before the files carried
a version still loading, resuming and scoring exactly as they did.

The folders in tests/fixtures/folders_before_versions/ were written by the code
before files carried a version (its README says how); the tiny data they were
trained on is the `tiny_data` fixture's, generated again here.
"""

import json
import shutil
from pathlib import Path

import keras
import numpy as np
import pytest

from benchmarks import patience, quality
from recipes import lstm, tune
from recipes.config import formats
from recipes.config.errors import UsageError
from recipes.inference.tagger import Tagger
from recipes.training import checkpoints
from support import (  # noqa: F401  (compilation_cache: an autouse fixture of this module)
    TINY,
    TINY_SEARCH,
    compilation_cache,
    exit_status,
    leftovers,
    one_line_error,
    recipe_argv,
    resume_args,
)

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "folders_before_versions"
OLD_FINISHED, OLD_UNFINISHED, OLD_SEARCH = FIXTURES / "run-finished", FIXTURES / "run-unfinished", FIXTURES / "search"
# The flags the fixture runs were trained with (besides --data, --output-dir and --epochs).
FIXTURE_FLAGS = [*TINY, "--head", "crf", "--intent", "--compile-cache", "off"]
ALL_FORMATS = (formats.RUN_CONFIG, formats.CHECKPOINT_STATE, formats.METRICS, formats.SEARCH)
FILE_NAMES = {
    formats.RUN_CONFIG: "config.json",
    formats.CHECKPOINT_STATE: "state.json",
    formats.METRICS: "metrics.json",
    formats.SEARCH: "search.json",
}


def read(path):
    return json.loads(Path(path).read_text(encoding="utf-8"))


def scores(metrics):
    """A metrics.json's contents besides the seconds of training (which vary) and its format and version."""
    return {key: value for key, value in formats.without_stamp(metrics).items() if key != "train_seconds"}


def needs_jax():
    if keras.backend.backend() != "jax":
        pytest.skip("the fixture runs were trained under JAX; other backends round differently")


# ---------------------------------------------------------------------------
# The migrations, file kind by file kind
# ---------------------------------------------------------------------------


def test_every_format_is_at_version_2_and_stamps_its_name_and_version_first():
    for file_format in ALL_FORMATS:
        assert file_format.version == 2
        assert list(formats.stamped(file_format, {"a": 1, "version": 7})) == ["format", "version", "a"]
        assert formats.stamped(file_format, {"a": 1})["format"] == file_format.name
    assert len({file_format.name for file_format in ALL_FORMATS}) == 4


def test_a_version_1_config_gains_only_its_format_and_version():
    old = read(OLD_FINISHED / "config.json")
    assert "version" not in old and old["intent"] is True and old["head"] == "crf"
    migrated = formats.migrate_run_config(old)
    assert migrated == {"format": "slot-rnn-run-config", "version": 2, **old}
    assert formats.migrate_run_config(migrated) == migrated


def test_a_config_from_before_intent_heads_becomes_a_run_without_one():
    old = {
        key: value
        for key, value in read(OLD_FINISHED / "config.json").items()
        if key not in formats.CONFIG_BEFORE_INTENTS
    }
    migrated = formats.migrate_run_config(old)
    assert migrated == {"format": "slot-rnn-run-config", "version": 2, **old, **formats.CONFIG_BEFORE_INTENTS}
    assert (migrated["intent"], migrated["intent_weight"], migrated["monitor"]) == (False, None, "slot_f1")


def test_a_version_1_checkpoint_state_renames_best_f1_and_names_optimizer_npz():
    old = read(OLD_UNFINISHED / "checkpoint" / "state.json")
    assert "version" not in old and "best_score" not in old
    migrated = formats.migrate_checkpoint_state(old)
    assert migrated == {
        "format": "slot-rnn-checkpoint-state",
        "version": 2,
        "best_score": old["best_f1"],
        **{key: value for key, value in old.items() if key != "best_f1"},
        "optimizer_file": "optimizer.npz",
    }
    assert migrated["seed_states"] == old["seed_states"] and len(migrated["seed_states"]) == 4
    assert formats.migrate_checkpoint_state(migrated) == migrated


def test_a_version_1_checkpoint_state_without_seed_states_or_best_f1():
    old = read(OLD_UNFINISHED / "checkpoint" / "state.json")
    del old["seed_states"]  # written before the seed generators' states were saved
    assert formats.migrate_checkpoint_state(old)["seed_states"] is None
    del old["best_f1"]
    with pytest.raises(formats.FormatError, match="^'best_f1' is missing$"):
        formats.migrate_checkpoint_state(old)


def test_a_version_1_metrics_gains_only_its_format_and_version():
    old = read(OLD_FINISHED / "metrics.json")
    migrated = formats.migrate_metrics(old)
    assert migrated == {"format": "slot-rnn-metrics", "version": 2, **old}
    assert formats.migrate_metrics(migrated) == migrated


def test_a_version_1_search_keeps_its_flags_and_one_from_before_the_intent_flags_gains_them():
    old = read(OLD_SEARCH / "travel" / "search.json")
    assert list(old) == ["flags"] and old["flags"]["intent"] is True
    assert formats.migrate_search(old) == {"format": "slot-rnn-search", "version": 2, "flags": old["flags"]}
    before_intents = {
        "flags": {name: value for name, value in old["flags"].items() if name not in formats.SEARCH_BEFORE_INTENTS}
    }
    migrated = formats.migrate_search(before_intents)
    assert migrated["flags"] == {**before_intents["flags"], **formats.SEARCH_BEFORE_INTENTS}
    assert migrated["flags"]["intent"] is False and migrated["flags"]["objective"] == "val_slot_f1"
    assert formats.migrate_search({"other": {}}) == {"format": "slot-rnn-search", "version": 2, "other": {}}


@pytest.mark.parametrize("file_format", ALL_FORMATS, ids=lambda file_format: file_format.name)
def test_reading_migrates_an_older_file_and_refuses_a_newer_one_in_one_line(file_format, tmp_path):
    path = tmp_path / FILE_NAMES[file_format]
    path.write_text(json.dumps({"flags": {}, "best_f1": 0.5}))
    assert formats.read_versioned(path, file_format)["version"] == 2
    path.write_text(json.dumps(formats.stamped(file_format, {"flags": {}, "best_score": 0.5})))
    assert formats.read_versioned(path, file_format) == read(path)
    path.write_text(json.dumps({"format": file_format.name, "version": 3, "flags": {}}))
    with pytest.raises(UsageError) as refused:
        formats.read_versioned(path, file_format)
    message = str(refused.value)
    assert message == (
        f"{path}: version 3 of the {file_format.name} format, newer than version 2 that this code reads; "
        "read it with the newer code that wrote it"
    )


@pytest.mark.parametrize(
    "content,message",
    [
        ('{"format": "slot-rnn-encoder", "version": 1}', "'format' is 'slot-rnn-encoder', expected 'slot-rnn-metrics'"),
        ('{"version": 2}', "'format' is None, expected 'slot-rnn-metrics'"),
        ('{"format": "slot-rnn-metrics", "version": "2"}', "'version' must be a whole number from 1, got '2'"),
        ('{"format": "slot-rnn-metrics", "version": true}', "'version' must be a whole number from 1, got True"),
        ('{"format": "slot-rnn-metrics", "version": 0}', "'version' must be a whole number from 1, got 0"),
        ('{"format": "slot-rnn-metrics"}', "'version' must be a whole number from 1, got None"),
        ("{\n\n oops", "line 3: not valid JSON"),
        ("[2]", "expected a JSON object, got list"),
    ],
)
def test_a_file_of_another_format_or_a_damaged_one_is_refused_naming_it(tmp_path, content, message):
    path = tmp_path / "metrics.json"
    path.write_text(content)
    with pytest.raises(UsageError) as refused:
        formats.read_versioned(path, formats.METRICS)
    assert str(refused.value).startswith(str(path)) and message in str(refused.value)
    assert len(str(refused.value).splitlines()) == 1


# ---------------------------------------------------------------------------
# Newer versions from the command line: exit 2, one line
# ---------------------------------------------------------------------------


def old_run(tmp_path, fixture=OLD_UNFINISHED, name="run"):
    folder = tmp_path / name
    shutil.copytree(fixture, folder)
    return folder


def stamp_version(path, file_format, version):
    value = formats.stamped(file_format, read(path))
    path.write_text(json.dumps({**value, "version": version}))


@pytest.mark.parametrize("name", ["config.json", "checkpoint/state.json"])
def test_resume_refuses_a_run_file_of_a_newer_version_with_exit_2(name, tiny_data, tmp_path, capsys):
    folder = old_run(tmp_path)
    file_format = formats.RUN_CONFIG if name == "config.json" else formats.CHECKPOINT_STATE
    stamp_version(folder / name, file_format, 3)
    before = {path: path.read_bytes() for path in folder.rglob("*") if path.is_file()}
    assert exit_status(lstm.main, recipe_argv(tiny_data, folder, "--epochs", "3", "--resume")) == 2
    one_line_error(
        capsys,
        f"{folder / name}: version 3 of the {file_format.name} format, newer than version 2",
        prefix="python -m recipes.lstm: error: ",
    )
    assert {path: path.read_bytes() for path in folder.rglob("*") if path.is_file()} == before


def test_tune_refuses_a_search_json_of_a_newer_version_with_exit_2(tmp_path, capsys):
    shutil.copytree(OLD_SEARCH, tmp_path / "searches")
    path = tmp_path / "searches" / "travel" / "search.json"
    stamp_version(path, formats.SEARCH, 3)
    before = path.read_bytes()
    argv = ["--data", "travel", "--max-train", "60", *TINY_SEARCH, "--directory", str(tmp_path / "searches")]
    assert exit_status(tune.main, [*argv, "--max-trials", "3", "--no-retrain"]) == 2
    one_line_error(capsys, f"{path}: version 3 of the slot-rnn-search format, newer than version 2")
    assert path.read_bytes() == before


def test_the_patience_benchmark_refuses_a_metrics_json_of_a_newer_version_with_exit_2(tmp_path, capsys):
    folder = old_run(tmp_path, OLD_FINISHED)
    stamp_version(folder / "metrics.json", formats.METRICS, 3)
    with pytest.raises(SystemExit) as exit_info:
        patience.main([str(folder), "--patience", "2", "--output", str(tmp_path / "table")])
    assert exit_info.value.code == 2
    one_line_error(capsys, f"{folder / 'metrics.json'}: version 3 of the slot-rnn-metrics format")


# ---------------------------------------------------------------------------
# Run folders written before the files carried a version
# ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def resumed_run(tiny_data, tmp_path_factory):
    """The unfinished run of the fixtures (stopped after epoch 2) resumed by today's code to epoch 3."""
    folder = old_run(tmp_path_factory.mktemp("resumed"))
    assert (
        exit_status(
            lstm.main, ["--data", str(tiny_data), *TINY, "--output-dir", str(folder), "--epochs", "3", "--resume"]
        )
        == 0
    )
    return folder


def test_an_old_unfinished_run_resumes_to_exactly_the_old_uninterrupted_runs_scores(resumed_run):
    needs_jax()
    resumed = read(resumed_run / "metrics.json")
    assert scores(resumed) == scores(read(OLD_FINISHED / "metrics.json"))
    assert resumed["epochs"] == 3 and resumed["test"]["f1"] > 0  # it learned something: not all zeros
    assert (resumed["format"], resumed["version"]) == ("slot-rnn-metrics", 2)
    assert (resumed_run / "test_predictions.txt").read_text() == (OLD_FINISHED / "test_predictions.txt").read_text()


def test_an_old_unfinished_run_resumed_holds_a_current_checkpoint_with_one_copy_of_the_optimizer(resumed_run):
    checkpoint = resumed_run / "checkpoint"
    assert sorted(path.name for path in checkpoint.iterdir()) == ["best.weights.h5", "last.weights.h5", "state.json"]
    state = read(checkpoint / "state.json")
    assert list(state)[:2] == ["format", "version"] and state["version"] == 2
    assert (state["epochs_done"], state["best_epoch"], state["optimizer_file"]) == (3, 3, "last.weights.h5")
    assert "best_f1" not in state and state["best_score"] == read(resumed_run / "metrics.json")["dev"]["f1"]
    assert len((resumed_run / "history.csv").read_text().splitlines()) == 1 + 3
    assert leftovers(resumed_run) == []
    # config.json stays as the run wrote it when it started.
    assert (resumed_run / "config.json").read_bytes() == (OLD_UNFINISHED / "config.json").read_bytes()


def test_an_old_unfinished_run_resumed_without_more_epochs_keeps_its_old_best_weights(tiny_data, tmp_path):
    needs_jax()
    folder = old_run(tmp_path)
    argv = ["--data", str(tiny_data), *TINY, "--output-dir", str(folder), "--epochs", "2", "--resume"]
    assert exit_status(lstm.main, argv) == 0
    # No epoch trains: the best epoch's weights (epoch 1) come from the old best.weights.h5.
    assert scores(read(folder / "metrics.json")) == scores(read(FIXTURES / "epochs-2.metrics.json"))


def test_today_s_code_trains_the_old_scores_from_the_same_seed(tiny_data, tmp_path):
    needs_jax()
    folder = tmp_path / "again"
    assert (
        exit_status(lstm.main, ["--data", str(tiny_data), *FIXTURE_FLAGS, "--output-dir", str(folder), "--epochs", "3"])
        == 0
    )
    assert scores(read(folder / "metrics.json")) == scores(read(OLD_FINISHED / "metrics.json"))
    assert (folder / "test_predictions.txt").read_text() == (OLD_FINISHED / "test_predictions.txt").read_text()
    config = read(folder / "config.json")
    old_config = read(OLD_FINISHED / "config.json")
    assert config == {
        "format": "slot-rnn-run-config",
        "version": 2,
        **old_config,
        "data": str(tiny_data),
        "output_dir": str(folder),
    }
    args = quality.parse_args(["--data", str(tiny_data), "--", *FIXTURE_FLAGS, "--epochs", "3"])
    quality.check_reused_run(folder, "lstm", 3, args)  # config.json of version 2: the same settings


def test_an_old_finished_run_tags_its_test_sentences_as_its_predictions_say(tiny_data):
    blocks = (OLD_FINISHED / "test_predictions.txt").read_text().strip("\n").split("\n\n")
    sentences = [[line.split(" ") for line in block.splitlines()] for block in blocks]
    tagger = Tagger.load(OLD_FINISHED)
    tagged = tagger.tag([" ".join(word for word, _, _ in sentence) for sentence in sentences], pretokenized=True)
    assert len(tagged) == len(sentences) == 20
    for result, sentence in zip(tagged, sentences):
        assert result["words"] == [word for word, _, _ in sentence]
        assert result["tags"] == [predicted for _, _, predicted in sentence]
    assert any(tag != "O" for result in tagged for tag in result["tags"])


def test_the_benchmarks_read_old_and_resumed_run_folders(resumed_run, tmp_path):
    for folder in (OLD_FINISHED, resumed_run):  # a version 1 config.json in both; metrics.json of each version
        config = read(folder / "config.json")  # the resumed run's records the --epochs it started with
        args = quality.parse_args(["--data", "tiny", "--", *FIXTURE_FLAGS, "--epochs", str(config["epochs"])])
        quality.check_reused_run(folder, "lstm", config["seed"], args)
        assert quality.read_run_file(folder / "metrics.json", formats.METRICS)["best_epoch"] == 3
        assert patience.read_run(folder)["scores"] == read_history_scores(folder)
    patience.main([str(OLD_FINISHED), str(resumed_run), "--patience", "2,5", "--output", str(tmp_path / "table")])
    assert (tmp_path / "table.csv").is_file()


def read_history_scores(folder):
    lines = (folder / "history.csv").read_text().splitlines()
    column = lines[0].split(",").index("val_slot_f1")
    return [float(line.split(",")[column]) for line in lines[1:]]


def test_an_old_checkpoint_restores_its_optimizer_from_optimizer_npz(tmp_path):
    folder = old_run(tmp_path)
    _, model, _, state = checkpoints.resume_model(lstm.build_model, resume_args(folder), folder)
    assert (state["optimizer_file"], state["epochs_done"], state["best_score"]) == ("optimizer.npz", 2, 0.0625)
    assert int(keras.ops.convert_to_numpy(model.optimizer.iterations)) == 2 * 15  # 15 batches of 4 an epoch
    assert (folder / "checkpoint" / "optimizer.npz").is_file()  # still needed until a new epoch is saved

    # optimizer.npz is read after last.weights.h5 (which holds the same variables): its step count wins.
    path = folder / "checkpoint" / "optimizer.npz"
    with np.load(path, allow_pickle=False) as saved:
        values = [saved[f"arr_{i}"] for i in range(len(saved.files))]
    step = next(i for i, value in enumerate(values) if value.shape == () and value == 2 * 15)
    values[step] = np.asarray(7, dtype=values[step].dtype)
    with open(path, "wb") as handle:
        np.savez(handle, *values)
    _, model, _, _ = checkpoints.resume_model(lstm.build_model, resume_args(folder), folder)
    assert int(keras.ops.convert_to_numpy(model.optimizer.iterations)) == 7
