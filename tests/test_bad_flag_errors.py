"""Every command against bad flags and places it cannot write: one line on standard error naming the
flag and value, exit status 2, no traceback, and nothing half-written. Flags out of range or of the
wrong type, output folders that cannot be written, and a tuning folder of another search or with a
damaged search.json.
"""

import importlib
import json
from pathlib import Path

import pytest

import data.__main__ as data_cli
from recipes import lstm, predict, tune
from recipes.search import folder as search_folder
from recipes.search.command_line import parse_search
from support import (  # noqa: F401  (compilation_cache: an autouse fixture of this module)
    RECIPES,
    TINY,
    TINY_SEARCH,
    compilation_cache,
    exit_status,
    one_line_error,
    recipe_argv,
)

# ---------------------------------------------------------------------------
# Flags out of range or of the wrong type
# ---------------------------------------------------------------------------

BAD_RECIPE_FLAGS = [
    (["--units", "0"], ["--units", "'0'"]),
    (["--units", "eight"], ["--units", "'eight'"]),
    (["--depth", "-2"], ["--depth", "'-2'"]),
    (["--epochs", "1.5"], ["--epochs", "'1.5'"]),
    (["--embedding-dim", ""], ["--embedding-dim", "''"]),
    (["--dropout", "1"], ["--dropout", "'1'"]),
    (["--dropout", "-0.1"], ["--dropout", "'-0.1'"]),
    (["--learning-rate", "inf"], ["--learning-rate", "'inf'"]),
    (["--learning-rate", "0"], ["--learning-rate", "'0'"]),
    (["--buckets", "16,8"], ["--buckets", "'16,8'"]),
    (["--buckets", "8,x"], ["--buckets", "'8,x'"]),
    (["--seed", "4294967296"], ["--seed", "'4294967296'"]),
    (["--seed", "-1"], ["--seed", "'-1'"]),
    (["--batch-size", "0"], ["--batch-size", "'0'"]),
    (["--max-train", "0"], ["--max-train", "'0'"]),
    (["--window", "-1"], ["--window", "'-1'"]),
    (["--verbose", "3"], ["--verbose", "'3'"]),
    (["--head", "crf2"], ["--head", "'crf2'"]),
    (["--depth"], ["--depth", "expected one argument"]),
    (["--frobnicate", "1"], ["unrecognized arguments: --frobnicate 1"]),
]


@pytest.mark.parametrize("flags, fragments", BAD_RECIPE_FLAGS, ids=[" ".join(f) for f, _ in BAD_RECIPE_FLAGS])
def test_every_recipe_rejects_a_bad_flag_value_with_one_line(flags, fragments, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)  # a default run folder would appear here
    for name in RECIPES:
        module = importlib.import_module(f"recipes.{name}")
        assert exit_status(module.main, flags) == 2
        one_line_error(capsys, *fragments, prefix=f"python -m recipes.{name}: error: ")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    "argv, fragments",
    [
        (["--model-dir", "x", "--batch-size", "0"], ["--batch-size", "'0'"]),
        (["--model-dir", "x", "--batch-size", "many"], ["--batch-size", "'many'"]),
        (["leave boston"], ["--model-dir"]),
    ],
)
def test_predict_rejects_bad_flags_with_one_line(argv, fragments, capsys):
    assert exit_status(predict.main, argv) == 2
    one_line_error(capsys, *fragments, prefix="python -m recipes.predict: error: ")


@pytest.mark.parametrize(
    "flags, fragments",
    [
        (["--epochs", "0"], ["--epochs", "'0'"]),
        (["--min-learning-rate", "nan"], ["--min-learning-rate", "'nan'"]),
        (["--executions-per-trial", "x"], ["--executions-per-trial", "'x'"]),
        (["--buckets", "8,8"], ["--buckets", "'8,8'"]),
        (["--min-dropout", "0.4", "--max-dropout", "0.2"], ["--min-dropout 0.4 is above --max-dropout 0.2"]),
    ],
)
def test_tune_rejects_bad_flags_with_one_line_and_writes_nothing(flags, fragments, tiny_data, tmp_path, capsys):
    directory = tmp_path / "tuning"
    argv = ["--data", str(tiny_data), *TINY_SEARCH, "--directory", str(directory), *flags]
    assert exit_status(tune.main, argv) == 2
    one_line_error(capsys, *fragments, prefix="python -m recipes.tune: error: ")
    assert not directory.exists()


@pytest.mark.parametrize(
    "argv, fragments",
    [
        (["describe", "travel", "--seed", "x"], ["--seed", "'x'"]),
        (["describe", "travel", "--dev-fraction", "half"], ["--dev-fraction", "'half'"]),
        (["describe", "travel", "--dev-fraction", "0.5"], ["dev_fraction", "0.5"]),
        (["download", "imdb"], ["'imdb'"]),
        (["describe"], ["SOURCE"]),
        (["frobnicate"], ["'frobnicate'"]),
    ],
)
def test_data_command_rejects_bad_flags_with_one_line(argv, fragments, capsys):
    assert exit_status(data_cli.main, argv) == 2
    one_line_error(capsys, *fragments)


# ---------------------------------------------------------------------------
# Output folders that cannot be written
# ---------------------------------------------------------------------------


def test_recipe_output_dir_that_cannot_be_a_folder_exits_2(tiny_data, a_file, capsys):
    cases = [
        (a_file / "run", "cannot write there"),
        (a_file, "exists and is not a folder"),
        (Path("/proc/slot-rnn-reliability/run"), "cannot write there"),
    ]
    for output_dir, reason in cases:
        assert exit_status(lstm.main, recipe_argv(tiny_data, output_dir)) == 2
        one_line_error(capsys, f"--output-dir {output_dir}: {reason}", prefix="python -m recipes.lstm: error: ")
    assert a_file.read_text() == "not a folder\n"


def test_recipe_compile_cache_that_cannot_be_a_folder_exits_2_and_writes_no_run_folder(
    tiny_data, a_file, tmp_path, capsys
):
    import keras

    if keras.backend.backend() != "jax":
        pytest.skip("the compilation cache is JAX's; under other backends the flag does nothing")
    run_dir = tmp_path / "run"
    assert exit_status(lstm.main, recipe_argv(tiny_data, run_dir, "--compile-cache", str(a_file / "cache"))) == 2
    one_line_error(
        capsys, f"--compile-cache {a_file / 'cache'}: cannot be created", prefix="python -m recipes.lstm: error: "
    )
    assert not run_dir.exists()


def test_recipe_refuses_to_overwrite_a_finished_run_or_resume_nothing(tiny_data, straight_run, tmp_path, capsys):
    before = (straight_run / "metrics.json").read_bytes()
    assert exit_status(lstm.main, recipe_argv(tiny_data, straight_run)) == 2
    one_line_error(capsys, "already holds a finished run")
    assert (straight_run / "metrics.json").read_bytes() == before
    assert exit_status(lstm.main, ["--data", str(tiny_data), *TINY, "--resume"]) == 2
    one_line_error(capsys, "--resume needs --output-dir")
    assert exit_status(lstm.main, recipe_argv(tiny_data, tmp_path / "empty", "--resume")) == 2
    one_line_error(capsys, "no unfinished run to resume")
    assert not (tmp_path / "empty").exists()


@pytest.mark.parametrize("where", ["below a file", "in /proc"])
def test_data_write_and_download_to_an_unwritable_place_exit_2_and_name_it(where, a_file, capsys):
    target = a_file / "out" if where == "below a file" else Path("/proc/slot-rnn-reliability")
    assert exit_status(data_cli.main, ["write", "travel", str(target / "travel")]) == 2
    one_line_error(capsys, str(target / "travel"), prefix="python -m data: error: ")
    argv = ["download", "atis", "--dir", str(target), "--base-url", "http://127.0.0.1:9"]
    assert exit_status(data_cli.main, argv) == 2
    one_line_error(capsys, str(target), prefix="python -m data: error: ")


def test_tune_directory_below_a_file_exits_2(tiny_data, a_file, capsys):
    argv = ["--data", str(tiny_data), *TINY_SEARCH, "--directory", str(a_file / "tuning")]
    assert exit_status(tune.main, argv) == 2
    one_line_error(capsys, f"--directory {a_file / 'tuning'}: cannot write there")


# ---------------------------------------------------------------------------
# A tuning folder from another search or with a damaged search.json
# ---------------------------------------------------------------------------


def test_tune_refuses_a_folder_of_another_search_space_or_a_damaged_one(tiny_data, tmp_path, capsys):
    directory = tmp_path / "tuning"
    argv = ["--data", str(tiny_data), *TINY_SEARCH, "--directory", str(directory), "--max-trials", "1"]
    settings = search_folder.search_settings(parse_search(argv))
    project = directory / "tiny"
    project.mkdir(parents=True)
    (project / "search.json").write_text(json.dumps({"flags": {**settings, "max_units": 64, "cells": ["gru"]}}))
    assert exit_status(tune.main, argv) == 2
    one_line_error(capsys, "--max-units 64", "--max-units 8", "--cells gru", "--cells elman", "--overwrite")
    for damaged in (b"\x00\xff garbage", b"[1, 2]", b'{"other": {}}'):
        (project / "search.json").write_bytes(damaged)
        assert exit_status(tune.main, argv) == 2
        one_line_error(capsys, f"{project / 'search.json'}: unreadable")
        assert sorted(path.name for path in project.iterdir()) == ["search.json"]
