"""Reliability: every command against bad input, interrupted and resumed
training, the determinism of a seed, and loading files that strangers send.

Bad input gets one line on standard error that names the file and line (or
the flag and value), exit status 2, no traceback, and nothing half-written.
Commands are called in-process through `main(argv)`; a few run as real
subprocesses to show that the command line prints no traceback either.
Trainings are tiny (60 training sentences, 8 units, one padded length), since
every JAX compile costs seconds.
"""

import hashlib
import http.server
import importlib
import io
import json
import math
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
import zipfile
from pathlib import Path

import keras
import numpy as np
import pandas as pd
import pytest

import data
import data.__main__ as data_cli
from data.batching import bucket_length, encode_split, make_batches
from data.download import DIGESTS
from recipes import common, lstm, predict, tune
from recipes.predict import Tagger

REPO_ROOT = Path(__file__).resolve().parent.parent
RECIPES = ["elman", "jordan", "lstm", "peephole_lstm", "gru", "feedforward"]

# One padded length, one layer of 8 units, 15 batches an epoch: compiles once, trains in a moment.
TINY = ["--depth", "1", "--units", "8", "--embedding-dim", "8", "--encoding", "embedding", "--buckets", "24",
        "--batch-size", "4", "--learning-rate", "0.05", "--seed", "3", "--verbose", "0"]
TINY_SEARCH = ["--cells", "elman", "--heads", "softmax", "--max-depth", "1", "--min-units", "8", "--max-units", "8",
               "--no-bidirectional", "--embedding-dim", "8", "--encoding", "embedding", "--buckets", "24",
               "--batch-size", "64", "--epochs", "1", "--verbose", "0"]


# ---------------------------------------------------------------------------
# Helpers and fixtures
# ---------------------------------------------------------------------------


def exit_status(main, argv):
    """Calls a command's `main(argv)` and returns its exit status (0 when it returns normally)."""
    try:
        result = main(argv)
    except SystemExit as stop:
        return 0 if stop.code is None else stop.code
    return result if isinstance(result, int) else 0


def one_line_error(capsys, *fragments, prefix=None, kind="error: "):
    """The single line on standard error; checks that it holds every fragment and no traceback."""
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert "Traceback" not in err and kind in lines[0]
    if prefix:
        assert lines[0].startswith(prefix), lines[0]
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    return lines[0]


def leftovers(folder):
    """Temporary or half-written files anywhere under `folder`."""
    return [path for path in Path(folder).rglob("*")
            if ".partial" in path.name or re.match(r"epoch-\d+\.", path.name) or path.name.endswith(".tmp")]


def recipe_argv(dataset, run_dir, *flags):
    return ["--data", str(dataset), *TINY, "--output-dir", str(run_dir), *flags]


def resume_args(run_dir):
    """Flags as `--resume` reads them: the model flags come from the run's config.json."""
    return common.make_parser("python -m recipes.lstm", None).parse_args(TINY + ["--output-dir", str(run_dir)])


def trained_state(run_dir):
    """A finished or stopped run as --resume sees it: scores, last weights, optimizer and seed states."""
    model, _, state = common.resume_model(lstm.build_model, resume_args(run_dir), Path(run_dir))
    metrics_path = Path(run_dir) / "metrics.json"
    metrics = json.loads(metrics_path.read_text()) if metrics_path.is_file() else {}
    return {
        "scores": {key: metrics.get(key) for key in ("dev", "test", "epochs", "best_epoch")},
        "epochs_done": state["epochs_done"],
        "weights": model.get_weights(),
        "optimizer": [keras.ops.convert_to_numpy(v) for v in model.optimizer.variables],
        "seeds": [keras.ops.convert_to_numpy(v) for v in common.seed_state_variables(model)],
    }


def assert_same_training(first, second):
    assert first["scores"] == second["scores"]
    assert first["epochs_done"] == second["epochs_done"]
    for part in ("weights", "optimizer", "seeds"):
        assert len(first[part]) == len(second[part]) > 0, part
        for a, b in zip(first[part], second[part]):
            np.testing.assert_array_equal(a, b, err_msg=part)


@pytest.fixture(scope="module")
def tiny_data(tmp_path_factory):
    folder = tmp_path_factory.mktemp("data") / "tiny"
    data.write_dataset(data.generate_travel(seed=1, train_size=60, dev_size=20, test_size=20), folder)
    return folder


@pytest.fixture(scope="module")
def straight_run(tiny_data, tmp_path_factory):
    """Three epochs of the LSTM recipe, uninterrupted: what resumed runs must end as."""
    folder = tmp_path_factory.mktemp("straight") / "run"
    lstm.main(recipe_argv(tiny_data, folder, "--epochs", "3"))
    return folder


@pytest.fixture(scope="module")
def straight_state(straight_run):
    return trained_state(straight_run)


@pytest.fixture(scope="module")
def tagger(straight_run):
    return Tagger.load(straight_run)


@pytest.fixture(scope="module")
def untrained_run(tiny_data, tmp_path_factory):
    """A run folder holding an untrained model with word and trigram inputs:
    enough to test what loading checks, without training anything."""
    folder = tmp_path_factory.mktemp("untrained") / "run"
    folder.mkdir()
    encoder = common.fit_encoder(data.load_dataset(str(tiny_data)).train)
    encoder.save(folder / "encoder.json")
    model = lstm.build_model(encoder, depth=1, units=8, encoding="embedding+trigram", embedding_dim=8)
    common.atomic_save_model(common.inference_view(model), folder / "model.keras")
    return folder


@pytest.fixture
def a_file(tmp_path):
    """A regular file: a folder below it can never be created, even by root."""
    path = tmp_path / "a-file"
    path.write_text("not a folder\n")
    return path


@pytest.fixture
def file_server():
    """An HTTP server on 127.0.0.1 serving `holder["directory"]`."""
    holder = {}

    class Handler(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *arguments, **keywords):
            super().__init__(*arguments, directory=holder["directory"], **keywords)

        def log_message(self, *arguments):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield holder, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
    thread.join()


@pytest.fixture(scope="module", autouse=True)
def compilation_cache(tmp_path_factory):
    """Keeps JAX's compiled programs in a folder of this module while it runs.

    The tiny trainings here build the same small model again and again, in
    this process and in subprocesses; each XLA compile costs seconds on a CPU,
    and reusing the compiled program changes no result."""
    if keras.backend.backend() != "jax":
        yield None
        return
    import jax
    from jax.experimental.compilation_cache import compilation_cache as cache

    options = {"jax_compilation_cache_dir": str(tmp_path_factory.mktemp("jax-cache")),
               "jax_persistent_cache_min_compile_time_secs": 0.0}
    # (setting up the cache may also change its smallest entry size: put that back too)
    before = {name: getattr(jax.config, name)
              for name in (*options, "jax_persistent_cache_min_entry_size_bytes")}
    for name, value in options.items():
        jax.config.update(name, value)
    cache.reset_cache()
    yield options
    for name, value in before.items():
        jax.config.update(name, value)
    cache.reset_cache()


# What TensorFlow's C++ runtime prints on import under the TensorFlow backend (a
# notice that oneDNN is on), before any line of the command itself.
TENSORFLOW_NOTICE = re.compile(
    r"WARNING: All log messages before absl::InitializeLog\(\)|[IWE]\d{4} [\d:.]+ +\d+ \S+:\d+\] "
)


def subprocess_env(compilation_cache):
    """The environment of a command run as a subprocess: this backend, and this module's compilation cache."""
    env = dict(os.environ, KERAS_BACKEND=keras.backend.backend(), TF_CPP_MIN_LOG_LEVEL="3",
               PYTHONPATH=str(REPO_ROOT))
    for name, value in (compilation_cache or {}).items():
        env[name.upper()] = str(value)
    for name in ("KERASTUNER_TUNER_ID", "KERASTUNER_ORACLE_IP", "KERASTUNER_ORACLE_PORT"):
        env.pop(name, None)
    return env


# ---------------------------------------------------------------------------
# Broken datasets: every command that reads one
# ---------------------------------------------------------------------------

GOOD_FILES = {
    "seq.in": "flights to boston\nleave denver on monday\n",
    "seq.out": "O O B-toloc.city_name\nO B-fromloc.city_name O B-depart_date.day_name\n",
    "label": "atis_flight\natis_flight\n",
}


def dataset_folder(root, splits=("train", "dev", "test"), **train_files):
    """A dataset folder whose `train/` files are replaced by `train_files`
    (text, bytes, or None to leave a file out)."""
    for split in splits:
        (root / split).mkdir(parents=True)
        files = {**GOOD_FILES, **train_files} if split == "train" else GOOD_FILES
        for name, content in files.items():
            if content is not None:
                (root / split / name).write_bytes(content if isinstance(content, bytes) else content.encode())
    return root


def write(path, content):
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    return path


def link_to_a_device(root):
    folder = dataset_folder(root, **{"seq.in": None})
    (folder / "train" / "seq.in").symlink_to("/dev/null")
    return folder


# name -> (build the source under a tmp folder, fragments the error line must hold)
BAD_DATASETS = {
    "tag_count": (lambda t: dataset_folder(t / "d", **{"seq.out": "O O B-toloc.city_name\nO B-fromloc.city_name O\n"}),
                  ["d/train/seq.out line 2: 3 tags for 4 words"]),
    "line_count": (lambda t: dataset_folder(t / "d", **{"seq.out": "O O B-toloc.city_name\n"}),
                   ["d/train/seq.out line 2: missing"]),
    "label_count": (lambda t: dataset_folder(t / "d", label="atis_flight\natis_flight\natis_airfare\n"),
                    ["d/train/label line 3: one line too many"]),
    "not_utf8": (lambda t: dataset_folder(t / "d", **{"seq.in": b"flights to boston\nleave d\xe9nver on monday\n"}),
                 ["d/train/seq.in line 2: bytes that are not UTF-8"]),
    "bad_tag_prefix": (lambda t: dataset_folder(t / "d", **{"seq.out": "O O X-toloc.city_name\nO O O O\n"}),
                       ["d/train/seq.out line 1: tag 'X-toloc.city_name'"]),
    "tag_without_slot": (lambda t: dataset_folder(t / "d", **{"seq.out": "O O B-\nO O O O\n"}),
                         ["d/train/seq.out line 1: tag 'B-'"]),
    "empty_file": (lambda t: dataset_folder(t / "d", **{"seq.in": "", "seq.out": "", "label": None}),
                   ["d/train/seq.in line 1: empty file"]),
    "empty_line": (lambda t: dataset_folder(t / "d", **{"seq.in": "flights to boston\n\nleave denver\n",
                                                         "seq.out": "O O B-toloc.city_name\n\nO O\n",
                                                         "label": None}),
                   ["d/train/seq.in line 2: empty line"]),
    "missing_file": (lambda t: dataset_folder(t / "d", **{"seq.out": None}), ["d/train/seq.out: no such file"]),
    "file_is_a_folder": (lambda t: (dataset_folder(t / "d", **{"seq.in": None}) / "train" / "seq.in").mkdir()
                         or t / "d", ["d/train/seq.in: is a folder"]),
    "device_instead_of_file": (lambda t: link_to_a_device(t / "d"), ["d/train/seq.in: not a regular file"]),
    "missing_split": (lambda t: dataset_folder(t / "d", splits=("train", "dev")), ["d/test: missing split"]),
    "dev_and_valid": (lambda t: dataset_folder(t / "d", splits=("train", "dev", "valid", "test")),
                      ["both dev/ and valid/"]),
    "too_small_to_carve_dev": (lambda t: dataset_folder(t / "d", splits=("train", "test"),
                                                        **{"seq.in": "flights\n", "seq.out": "O\n", "label": None}),
                               ["d/train: 1 sentence(s) are too few"]),
    "csv_missing_column": (lambda t: write(t / "d.csv", "words,intent\nflights to boston,atis_flight\n"),
                           ["d.csv line 1: no 'tags' column"]),
    "csv_short_row": (lambda t: write(t / "d.csv", "words,tags,intent\nflights to boston,O O B-toloc.city_name,x\n"
                                                   "leave denver\n"),
                      ["d.csv line 3: 1 fields, the header has 3"]),
    "csv_bad_split": (lambda t: write(t / "d.csv", "words,tags,split\n"
                                                   "flights to boston,O O B-toloc.city_name,holdout\n"),
                      ["d.csv line 2: split 'holdout'"]),
    "csv_header_only": (lambda t: write(t / "d.csv", "words,tags\n"), ["d.csv line 2: no sentences after the header"]),
    "tsv_tag_count": (lambda t: write(t / "d.tsv", "words\ttags\nflights to boston\tO O\n"),
                      ["d.tsv line 2: 2 tags for 3 words"]),
    "conll_one_column": (lambda t: write(t / "d.conll", "flights O\nboston\n"), ["d.conll line 2: 1 column"]),
    "conll_blank": (lambda t: write(t / "d.conll", "\n\n  \n"), ["d.conll line 1: empty file"]),
    "conll_not_utf8": (lambda t: write(t / "d.conll", b"flights O\n\xff B-x\n"),
                       ["d.conll line 2: bytes that are not UTF-8 (0xff at column 1)"]),
    "unknown_suffix": (lambda t: write(t / "d.json", "{}"), ["d.json: unknown file type '.json'"]),
    "missing_path": (lambda t: t / "nowhere", ["nowhere: no such dataset"]),
    "path_below_a_file": (lambda t: write(t / "plain", "x") / "d", ["plain/d: no such dataset"]),
}


def bad_dataset(tmp_path, name):
    if name == "device_instead_of_file" and not Path("/dev/null").exists():
        pytest.skip("no /dev/null here")
    build, fragments = BAD_DATASETS[name]
    return str(build(tmp_path)), fragments


@pytest.mark.parametrize("name", sorted(BAD_DATASETS))
def test_describe_names_the_file_and_line_of_a_broken_dataset(name, tmp_path, capsys):
    source, fragments = bad_dataset(tmp_path, name)
    assert exit_status(data_cli.main, ["describe", source]) == 2
    one_line_error(capsys, *fragments, prefix="error: ")
    assert capsys.readouterr().out == ""


@pytest.mark.parametrize("name", sorted(BAD_DATASETS))
def test_recipe_names_the_file_and_line_of_a_broken_dataset_and_writes_no_run_folder(name, tmp_path, capsys):
    source, fragments = bad_dataset(tmp_path, name)
    run_dir = tmp_path / "runs" / "run"
    assert exit_status(lstm.main, ["--data", source, *TINY, "--output-dir", str(run_dir)]) == 2
    one_line_error(capsys, *fragments, prefix="python -m recipes.lstm: error: ")
    assert not (tmp_path / "runs").exists()


@pytest.mark.parametrize("name", sorted(BAD_DATASETS))
def test_tune_names_the_file_and_line_of_a_broken_dataset_and_writes_no_search(name, tmp_path, capsys):
    source, fragments = bad_dataset(tmp_path, name)
    directory = tmp_path / "tuning"
    assert exit_status(tune.main, ["--data", source, *TINY_SEARCH, "--directory", str(directory)]) == 2
    one_line_error(capsys, *fragments, prefix="python -m recipes.tune: error: ")
    assert not directory.exists()


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no named pipes here")
def test_a_named_pipe_in_a_dataset_is_refused_not_read_forever(tmp_path):
    folder = dataset_folder(tmp_path / "d", **{"seq.out": None})
    os.mkfifo(folder / "train" / "seq.out")  # reading it would wait for a writer that never comes
    completed = subprocess.run([sys.executable, "-m", "data", "describe", str(folder)], cwd=REPO_ROOT,
                               capture_output=True, text=True, timeout=120)
    assert completed.returncode == 2 and "Traceback" not in completed.stderr
    assert completed.stderr.strip() == f"error: {folder}/train/seq.out: not a regular file"


def test_write_refuses_a_broken_dataset_and_leaves_no_folder(tmp_path, capsys):
    source, fragments = bad_dataset(tmp_path, "tag_count")
    assert exit_status(data_cli.main, ["write", source, str(tmp_path / "copy")]) == 2
    one_line_error(capsys, *fragments)
    assert sorted(path.name for path in tmp_path.iterdir()) == ["d"]


BAD_WORD_VECTORS = {  # name: (the vector file's content, None for no file; extra flags; fragments)
    "missing": (None, [], ["vectors.txt: cannot be read (No such file or directory)"]),
    "empty": ("", [], ["vectors.txt: holds no word vectors"]),
    "ragged": ("boston 0.1 0.2 0.3\ndenver 0.1 0.2\n", [], ["vectors.txt line 2: 2 numbers, expected 3"]),
    "not_a_number": ("boston 0.1 x 0.3\n", [], ["vectors.txt line 1: a value is not a number"]),
    "not_finite": ("boston 0.1 nan 0.3\n", [], ["vectors.txt line 1: a value is not a finite number"]),
    "not_utf8": (b"boston 0.1\n\xff 0.2\n", [], ["vectors.txt: not UTF-8 text"]),
    "other_dimension": ("boston 0.1 0.2 0.3\n", [], ["--word-vectors", "pass --embedding-dim 3"]),
    "no_word_vectors_to_start": ("boston 0.1 0.2 0.3\n", ["--encoding", "trigram"],
                                 ["--word-vectors needs --encoding embedding"]),
}


@pytest.mark.parametrize("name", sorted(BAD_WORD_VECTORS))
def test_a_bad_word_vector_file_exits_2_and_writes_no_run_folder(name, tiny_data, tmp_path, capsys):
    content, flags, fragments = BAD_WORD_VECTORS[name]
    if content is not None:
        write(tmp_path / "vectors.txt", content)
    argv = recipe_argv(tiny_data, tmp_path / "run", "--word-vectors", str(tmp_path / "vectors.txt"), *flags)
    assert exit_status(lstm.main, argv) == 2
    one_line_error(capsys, *fragments, prefix="python -m recipes.lstm: error: ")
    assert not (tmp_path / "run").exists()


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


@pytest.mark.parametrize("argv, fragments", [
    (["--model-dir", "x", "--batch-size", "0"], ["--batch-size", "'0'"]),
    (["--model-dir", "x", "--batch-size", "many"], ["--batch-size", "'many'"]),
    (["leave boston"], ["--model-dir"]),
])
def test_predict_rejects_bad_flags_with_one_line(argv, fragments, capsys):
    assert exit_status(predict.main, argv) == 2
    one_line_error(capsys, *fragments, prefix="python -m recipes.predict: error: ")


@pytest.mark.parametrize("flags, fragments", [
    (["--epochs", "0"], ["--epochs", "'0'"]),
    (["--min-learning-rate", "nan"], ["--min-learning-rate", "'nan'"]),
    (["--executions-per-trial", "x"], ["--executions-per-trial", "'x'"]),
    (["--buckets", "8,8"], ["--buckets", "'8,8'"]),
    (["--min-dropout", "0.4", "--max-dropout", "0.2"], ["--min-dropout 0.4 is above --max-dropout 0.2"]),
])
def test_tune_rejects_bad_flags_with_one_line_and_writes_nothing(flags, fragments, tiny_data, tmp_path, capsys):
    directory = tmp_path / "tuning"
    argv = ["--data", str(tiny_data), *TINY_SEARCH, "--directory", str(directory), *flags]
    assert exit_status(tune.main, argv) == 2
    one_line_error(capsys, *fragments, prefix="python -m recipes.tune: error: ")
    assert not directory.exists()


@pytest.mark.parametrize("argv, fragments", [
    (["describe", "travel", "--seed", "x"], ["--seed", "'x'"]),
    (["describe", "travel", "--dev-fraction", "half"], ["--dev-fraction", "'half'"]),
    (["describe", "travel", "--dev-fraction", "0.5"], ["dev_fraction", "0.5"]),
    (["download", "imdb"], ["'imdb'"]),
    (["describe"], ["SOURCE"]),
    (["frobnicate"], ["'frobnicate'"]),
])
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
    one_line_error(capsys, str(target / "travel"), prefix="error: ")
    argv = ["download", "atis", "--dir", str(target), "--base-url", "http://127.0.0.1:9"]
    assert exit_status(data_cli.main, argv) == 2
    one_line_error(capsys, str(target), prefix="error: ")


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
    settings = tune.search_settings(tune.make_parser().parse_args(argv))
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


# ---------------------------------------------------------------------------
# Damaged run folders: predict
# ---------------------------------------------------------------------------


def zip_with(members):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    return buffer.getvalue()


def edit_encoder(change):
    def apply(folder, tmp_path):
        config = json.loads((folder / "encoder.json").read_text())
        change(config)
        (folder / "encoder.json").write_text(json.dumps(config))
    return apply


def put(name, content):
    def apply(folder, tmp_path):
        path = folder / name
        if content is None:
            path.unlink()
        else:
            path.write_bytes(content(tmp_path) if callable(content) else content)
    return apply


DAMAGED_RUNS = {
    "model_missing": (put("model.keras", None), ["model.keras: missing"]),
    "model_garbage": (put("model.keras", os.urandom(300)), ["model.keras: not a .keras file"]),
    "model_truncated": (lambda f, t: (f / "model.keras").write_bytes((f / "model.keras").read_bytes()[:2000]),
                        ["model.keras: not a .keras file"]),
    "model_wrong_zip": (put("model.keras", zip_with({"config.json": "{not json", "metadata.json": "{}"})),
                        ["model.keras: cannot be loaded"]),
    "encoder_missing": (put("encoder.json", None), ["encoder.json: missing"]),
    "encoder_garbage": (put("encoder.json", b"\x89\xff\x00garbage"), ["encoder.json: bytes that are not UTF-8"]),
    "encoder_bad_json": (put("encoder.json", b'{"format": "slot-rnn-encoder",\n "words": [}'),
                         ["encoder.json line 2: not valid JSON"]),
    "encoder_a_list": (put("encoder.json", b"[1, 2, 3]"), ["encoder.json: encoder config must be a JSON object"]),
    "encoder_other_format": (edit_encoder(lambda c: c.update(format="vocab")),
                             ["encoder.json: not a slot-rnn-encoder"]),
    "encoder_words_not_a_list": (edit_encoder(lambda c: c.update(words="boston")),
                                 ["encoder.json: encoder config: 'words' must be a list"]),
    "encoder_max_trigrams_huge": (edit_encoder(lambda c: c.update(max_trigrams=10**9)),
                                  ["encoder.json: encoder config: 'max_trigrams' must be an integer from 1 to"]),
    "vocabulary_grown": (edit_encoder(lambda c: c["words"].extend(f"word{i}" for i in range(50))),
                         ["encoder.json: 224 words but the model was built for 174"]),
    "vocabulary_word_twice": (edit_encoder(lambda c: c["words"].append(c["words"][5])),
                              ["encoder.json: encoder config: 'words' holds an entry twice"]),
    "trigrams_cut": (edit_encoder(lambda c: c.update(trigrams=c["trigrams"][:100])),
                     ["encoder.json: 100 trigrams but the model was built for 621"]),
    "tags_dropped": (edit_encoder(lambda c: c.update(tags=c["tags"][:5])),
                     ["encoder.json: 5 tags but the model was built for 36"]),
    "max_trigrams_changed": (edit_encoder(lambda c: c.update(max_trigrams=4)),
                             ["encoder.json: 4 max_trigrams but the model was built for 16"]),
}


@pytest.mark.parametrize("name", sorted(DAMAGED_RUNS))
def test_predict_refuses_a_damaged_run_folder_with_one_line(name, untrained_run, tmp_path, capsys):
    folder = tmp_path / "run"
    shutil.copytree(untrained_run, folder)
    damage, fragments = DAMAGED_RUNS[name]
    damage(folder, tmp_path)
    assert exit_status(predict.main, ["--model-dir", str(folder), "leave boston on monday"]) == 2
    one_line_error(capsys, *fragments, prefix="python -m recipes.predict: error: ")
    assert capsys.readouterr().out == ""


def test_predict_refuses_a_missing_folder_or_a_file_as_model_dir(a_file, tmp_path, capsys):
    for folder in (tmp_path / "nowhere", a_file):
        assert exit_status(predict.main, ["--model-dir", str(folder), "leave boston"]) == 2
        one_line_error(capsys, f"--model-dir {folder}: no such folder")


def test_predict_never_runs_code_sent_in_a_model_file(untrained_run, tmp_path, capsys):
    folder = tmp_path / "run"
    shutil.copytree(untrained_run, folder)
    marker = tmp_path / "code-ran"
    inputs = keras.Input(shape=(None,), dtype="int32", name="words")
    # A lambda that leaves a file behind whenever it runs, as building the model on loading would.
    outputs = keras.layers.Lambda(lambda x, path=str(marker): (open(path, "w").close(), x)[1])(inputs)
    (folder / "model.keras").unlink()
    keras.Model(inputs, outputs).save(folder / "model.keras")
    marker.unlink()  # building it here ran it once
    assert exit_status(predict.main, ["--model-dir", str(folder), "leave boston"]) == 2
    one_line_error(capsys, f"{folder / 'model.keras'}: cannot be loaded", "safe_mode")
    assert not marker.exists()


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
    "state_epochs_text": (edit_json("checkpoint/state.json", lambda s: {**s, "epochs_done": "two"}),
                          ["state.json: 'epochs_done' is missing or of the wrong type ('two')"]),
    "state_epochs_zero": (edit_json("checkpoint/state.json", lambda s: {**s, "epochs_done": 0}),
                          ["state.json: 'epochs_done' must be at least 1, got 0"]),
    "state_best_missing": (edit_json("checkpoint/state.json", lambda s: {k: v for k, v in s.items() if k != "best_f1"}),
                           ["state.json: 'best_f1' is missing"]),
    "state_seeds_short": (edit_json("checkpoint/state.json", lambda s: {**s, "seed_states": s["seed_states"][:1]}),
                          ["state.json: 'seed_states' does not fit the model"]),
    "state_seeds_negative": (edit_json("checkpoint/state.json",
                                       lambda s: {**s, "seed_states": [[-1, 0]] * len(s["seed_states"])}),
                             ["state.json: 'seed_states' does not fit the model"]),
    "config_missing": (replace_file("config.json", None), ["config.json: missing"]),
    "config_units_text": (edit_json("config.json", lambda c: {**c, "units": "many"}),
                          ["config.json: its model flags do not build a model"]),
    "config_depth_missing": (edit_json("config.json", lambda c: {k: v for k, v in c.items() if k != "depth"}),
                             ["config.json: 'depth' is missing"]),
    "encoder_tampered": (edit_json("encoder.json", lambda c: {**c, "words": c["words"] + ["extra"]}),
                         ["last.weights.h5: does not fit the model that config.json and encoder.json describe"]),
    "encoder_garbage": (replace_file("encoder.json", b"\xff\xfe"), ["encoder.json: bytes that are not UTF-8"]),
    "weights_garbage": (replace_file("checkpoint/last.weights.h5", b"\x89HDF garbage"),
                        ["last.weights.h5: cannot be loaded"]),
    "weights_missing": (replace_file("checkpoint/last.weights.h5", None), ["last.weights.h5: missing"]),
    "optimizer_garbage": (replace_file("checkpoint/optimizer.npz", b"PK\x03\x04 garbage"),
                          ["optimizer.npz: cannot be loaded"]),
    "optimizer_pickled": (replace_file("checkpoint/optimizer.npz", pickled_npz()),
                          ["optimizer.npz: cannot be loaded", "allow_pickle=False"]),
}


@pytest.mark.parametrize("name", sorted(DAMAGED_CHECKPOINTS))
def test_resume_refuses_a_damaged_checkpoint_with_one_line_and_changes_nothing(name, straight_run, tiny_data,
                                                                              tmp_path, capsys):
    folder = tmp_path / "run"
    shutil.copytree(straight_run, folder)
    damage, fragments = DAMAGED_CHECKPOINTS[name]
    damage(folder)
    before = {path: path.read_bytes() for path in folder.rglob("*") if path.is_file()}
    assert exit_status(lstm.main, recipe_argv(tiny_data, folder, "--epochs", "4", "--resume")) == 2
    one_line_error(capsys, *fragments, prefix="python -m recipes.lstm: error: ")
    assert {path: path.read_bytes() for path in folder.rglob("*") if path.is_file()} == before


# ---------------------------------------------------------------------------
# Odd but valid input at predict
# ---------------------------------------------------------------------------


def test_empty_and_blank_sentences_give_empty_results(tagger):
    results = tagger.tag(["", "   ", "\t"])
    assert results == [{"words": [], "tags": [], "slots": {}}] * 3


def test_a_sentence_of_5000_words_gets_a_tag_for_every_word(tagger):
    words = ("flights from boston to denver on monday morning".split() * 625)[:5000]
    assert bucket_length(len(words)) == 5056  # longer than every bucket: rounded up to a multiple of 64
    [batch] = make_batches(encode_split(tagger.encoder, data.Split([words], [["O"] * 5000]), with_tags=False), 64)
    assert batch.inputs["words"].shape[1] == 5056
    [result] = tagger.tag([" ".join(words)])
    assert result["words"] == words and len(result["tags"]) == 5000
    assert set(result["tags"]) <= set(tagger.encoder.tags)


def test_unicode_sentences_keep_their_words_and_get_one_tag_each(tagger):
    sentences = ["café à Zürich demain", "我想 去 台北", "✈️ to boston 🙂",
                 "naïve ﬁsh\u00a0to\u3000denver"]  # a no-break space and an ideographic space between words
    results = tagger.tag(sentences)
    for sentence, result in zip(sentences, results):
        assert result["words"] == sentence.split()
        assert len(result["tags"]) == len(result["words"])
        assert set(result["tags"]) <= set(tagger.encoder.tags)
        for value in result["slots"].values():
            for part in value if isinstance(value, list) else [value]:
                assert set(part.split()) <= set(result["words"])


def test_mixed_case_tags_as_lowercase_and_keeps_the_words_as_written(tagger):
    shouted, plain = tagger.tag(["LEAVE Denver ON Monday MORNING", "leave denver on monday morning"])
    assert shouted["words"] == ["LEAVE", "Denver", "ON", "Monday", "MORNING"]
    assert shouted["tags"] == plain["tags"]


def test_punctuation_glued_to_a_known_word_becomes_a_word_of_its_own(tagger):
    encoder = tagger.encoder
    for word in ("boston", "denver", "detroit"):
        assert encoder.encode_words([word]) != [encoder.OTHER]
    [result] = tagger.tag(["flights to boston? (denver), from detroit... zzqx! ?"])
    assert result["words"] == ["flights", "to", "boston", "?", "(", "denver", "),", "from", "detroit", "...",
                               "zzqx!", "?"]
    assert len(result["tags"]) == len(result["words"])


def test_split_words_keeps_punctuation_of_known_words():
    encoder = data.Encoder.fit([["u.s.", "boston", "o'clock"]], [["O", "O", "O"]])
    assert common.split_words("u.s. boston. o'clock, 'boston' 'unknown' ...", encoder) == [
        "u.s.", "boston", ".", "o'clock", ",", "'", "boston", "'", "'unknown'", "..."]


def test_predict_reads_stdin_lines_as_json_lines(straight_run, capsys, monkeypatch):
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO("leave Denver on monday\r\n\nvoo para são paulo\n"
                                                                 .encode())))
    assert exit_status(predict.main, ["--model-dir", str(straight_run)]) == 0
    lines = capsys.readouterr().out.splitlines()
    results = [json.loads(line) for line in lines]
    assert [r["words"] for r in results] == [["leave", "Denver", "on", "monday"], [], ["voo", "para", "são", "paulo"]]
    assert [len(r["tags"]) for r in results] == [4, 0, 4]


def test_predict_refuses_stdin_that_is_not_utf8_before_printing_anything(straight_run, capsys, monkeypatch):
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"leave denver\nto \xff\xfeboston\n")))
    assert exit_status(predict.main, ["--model-dir", str(straight_run)]) == 2
    one_line_error(capsys, "standard input line 2: bytes that are not UTF-8 (0xff at column 4)")
    assert capsys.readouterr().out == ""


# ---------------------------------------------------------------------------
# The real command line: no traceback
# ---------------------------------------------------------------------------


def test_commands_print_one_line_and_no_traceback_from_the_command_line(tmp_path, straight_run, compilation_cache):
    bad_folder, _ = bad_dataset(tmp_path, "tag_count")
    bad_csv, _ = bad_dataset(tmp_path, "csv_missing_column")
    folder_error = "d/train/seq.out line 2: 3 tags for 4 words"
    commands = {  # name: (arguments of python -m, standard input, the error line's start, a fragment of it)
        "data": (["data", "describe", bad_folder], b"", "error: ", folder_error),
        "recipe": (["recipes.gru", "--data", bad_csv, "--output-dir", str(tmp_path / "run")], b"",
                   "python -m recipes.gru: error: ", "d.csv line 1: no 'tags' column"),
        "predict": (["recipes.predict", "--model-dir", str(straight_run)], b"leave boston\n\xc3\x28\n",
                    "python -m recipes.predict: error: ", "standard input line 2: bytes that are not UTF-8 (0xc3"),
        "tune": (["recipes.tune", "--data", bad_folder, "--directory", str(tmp_path / "tuning")], b"",
                 "python -m recipes.tune: error: ", folder_error),
    }
    processes = {
        name: subprocess.Popen([sys.executable, "-m", *argv], cwd=tmp_path, env=subprocess_env(compilation_cache),
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        for name, (argv, *_) in commands.items()
    }
    for name, process in processes.items():
        _, stdin, prefix, fragment = commands[name]
        out, err = process.communicate(stdin, timeout=300)
        err = err.decode()
        lines = [line for line in err.strip().splitlines() if not TENSORFLOW_NOTICE.match(line)]
        assert process.returncode == 2, (name, err)
        assert "Traceback" not in err and len(lines) == 1, (name, err)
        assert lines[0].startswith(prefix) and fragment in lines[0], (name, err)
        assert out == b"", name
    assert not (tmp_path / "run").exists() and not (tmp_path / "tuning").exists()


# ---------------------------------------------------------------------------
# Interruptions
# ---------------------------------------------------------------------------


def test_a_run_interrupted_after_an_epoch_resumes_to_the_uninterrupted_result(tiny_data, straight_state, tmp_path,
                                                                             capsys, monkeypatch):
    run_dir = tmp_path / "run"
    argv = recipe_argv(tiny_data, run_dir, "--epochs", "3")
    original = common.SlotF1Monitor.on_epoch_end

    def interrupt_in_epoch_two(self, epoch, logs=None):
        original(self, epoch, logs)
        if epoch == 1:
            raise KeyboardInterrupt  # Ctrl-C while epoch 2 is being scored

    monkeypatch.setattr(common.SlotF1Monitor, "on_epoch_end", interrupt_in_epoch_two)
    assert exit_status(lstm.main, argv) == 130
    one_line_error(capsys, f"--resume --output-dir {run_dir}", prefix="python -m recipes.lstm: interrupted; ",
                   kind="interrupted")
    assert not (run_dir / "metrics.json").exists() and not (run_dir / "model.keras").exists()
    assert json.loads((run_dir / "checkpoint" / "state.json").read_text())["epochs_done"] == 1
    monkeypatch.setattr(common.SlotF1Monitor, "on_epoch_end", original)

    assert exit_status(lstm.main, argv + ["--resume"]) == 0
    assert_same_training(trained_state(run_dir), straight_state)
    assert len((run_dir / "history.csv").read_text().splitlines()) == 1 + 3
    assert leftovers(run_dir) == []


def test_a_finished_run_continued_with_resume_equals_a_longer_run(tiny_data, straight_state, tmp_path):
    run_dir = tmp_path / "run"
    assert exit_status(lstm.main, recipe_argv(tiny_data, run_dir, "--epochs", "2")) == 0
    assert exit_status(lstm.main, recipe_argv(tiny_data, run_dir, "--epochs", "3", "--resume")) == 0
    assert_same_training(trained_state(run_dir), straight_state)


def test_a_run_killed_with_sigkill_resumes_to_the_uninterrupted_result(tiny_data, straight_state, tmp_path,
                                                                       compilation_cache):
    run_dir = tmp_path / "run"
    argv = recipe_argv(tiny_data, run_dir, "--epochs", "3")
    state_path = run_dir / "checkpoint" / "state.json"
    process = subprocess.Popen([sys.executable, "-m", "recipes.lstm", *argv], cwd=tmp_path,
                               env=subprocess_env(compilation_cache),
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
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


def test_a_checkpoint_interrupted_while_saving_resumes_from_one_consistent_epoch(straight_run, straight_state,
                                                                               tmp_path):
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
    for name in ("last.weights.h5", "optimizer.npz"):
        os.replace(checkpoint / name, checkpoint / f"epoch-3.{name}")
    shutil.copy(checkpoint / "best.weights.h5", checkpoint / "last.weights.h5")  # an older epoch's file
    (checkpoint / "optimizer.npz").write_bytes(b"older")
    assert_same_training(trained_state(folder), straight_state)
    assert leftovers(folder) == []


def test_a_tuning_search_killed_mid_trial_keeps_its_finished_trials(tiny_data, tmp_path, monkeypatch,
                                                                     compilation_cache):
    argv = ["--data", str(tiny_data), *TINY_SEARCH, "--directory", str(tmp_path / "tuning"), "--max-trials", "2",
            "--no-retrain"]
    project = tmp_path / "tuning" / "tiny"
    process = subprocess.Popen([sys.executable, "-m", "recipes.tune", *argv], cwd=tmp_path,
                               env=subprocess_env(compilation_cache),
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
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
    finished = tune.load_trials(project)[0]

    trained = []
    original_fit = tune.SlotFillingHyperModel.fit

    def counting_fit(self, hp, model, *args, **kwargs):
        trained.append(self.trial_id)
        return original_fit(self, hp, model, *args, **kwargs)

    monkeypatch.setattr(tune.SlotFillingHyperModel, "fit", counting_fit)
    assert exit_status(tune.main, argv) == 0
    assert trained == ["1"]
    table = pd.read_csv(project / "results.csv", dtype={"trial_id": str})
    assert list(table["trial_id"]) == ["0", "1"] and (table["status"] == "COMPLETED").all()
    again = tune.load_trials(project)[0]
    assert (again["values"], again["score"]) == (finished["values"], finished["score"])


# ---------------------------------------------------------------------------
# A loss that turns NaN
# ---------------------------------------------------------------------------


def test_a_loss_that_turns_nan_stops_with_one_line_and_claims_no_result(tiny_data, tmp_path, capsys):
    run_dir = tmp_path / "run"
    argv = recipe_argv(tiny_data, run_dir, "--epochs", "2", "--learning-rate", "1e38")
    assert exit_status(lstm.main, argv) == 1
    one_line_error(capsys, "the loss became NaN or infinite in epoch 1", "--learning-rate", "no epoch finished",
                   prefix="python -m recipes.lstm: error: ")
    for name in ("metrics.json", "model.keras", "test_predictions.txt", "checkpoint"):
        assert not (run_dir / name).exists(), name
    assert leftovers(run_dir) == []


def test_a_loss_that_turns_nan_later_keeps_the_last_good_weights(tiny_data, tmp_path, capsys, monkeypatch):
    steps_per_epoch = math.ceil(60 / 4)
    original = common.compile_model

    def compile_with_a_jump(model, learning_rate=0.005):
        # The learning rate jumps from sane to absurd once the first epoch is over.
        original(model, learning_rate)
        schedule = keras.optimizers.schedules.PiecewiseConstantDecay([steps_per_epoch], [learning_rate, 1e38])
        model.compile(optimizer=keras.optimizers.Adam(schedule, clipnorm=5.0), loss=model.loss)
        return model

    monkeypatch.setattr(common, "compile_model", compile_with_a_jump)
    run_dir = tmp_path / "run"
    assert exit_status(lstm.main, recipe_argv(tiny_data, run_dir, "--epochs", "3")) == 1
    one_line_error(capsys, "NaN or infinite in epoch 2", f"weights of epoch 1, the best so far, are kept in "
                   f"{run_dir / 'checkpoint' / 'best.weights.h5'}")
    assert not (run_dir / "metrics.json").exists() and not (run_dir / "model.keras").exists()
    state = json.loads((run_dir / "checkpoint" / "state.json").read_text())
    assert (state["epochs_done"], state["best_epoch"]) == (1, 1)
    encoder = data.Encoder.load(run_dir / "encoder.json")
    model = lstm.build_model(encoder, depth=1, units=8, encoding="embedding", embedding_dim=8)
    model.load_weights(run_dir / "checkpoint" / "best.weights.h5")
    assert all(np.isfinite(weights).all() for weights in model.get_weights())
    assert leftovers(run_dir) == []


# ---------------------------------------------------------------------------
# Determinism
# ---------------------------------------------------------------------------


def test_the_same_seed_gives_identical_metrics_and_weights(tiny_data, straight_run, straight_state, tmp_path):
    assert exit_status(lstm.main, recipe_argv(tiny_data, tmp_path / "again", "--epochs", "3")) == 0
    again = trained_state(tmp_path / "again")
    assert_same_training(again, straight_state)
    assert straight_state["scores"]["test"]["f1"] > 0  # it learned something: equal scores are not all zeros
    first = json.loads((straight_run / "metrics.json").read_text())
    second = json.loads((tmp_path / "again" / "metrics.json").read_text())
    assert {k: v for k, v in first.items() if k != "train_seconds"} == {
        k: v for k, v in second.items() if k != "train_seconds"}
    predictions = [(folder / "test_predictions.txt").read_text() for folder in (straight_run, tmp_path / "again")]
    assert predictions[0] == predictions[1]


# ---------------------------------------------------------------------------
# Files from strangers: no pickle, safe loading, verified downloads, atomic writers
# ---------------------------------------------------------------------------


def test_no_pickle_anywhere_and_every_loader_is_safe():
    sources = sorted(path for folder in ("data", "recipes", "custom_layers", "benchmarks")
                     for path in (REPO_ROOT / folder).rglob("*.py"))
    assert len(sources) > 10
    for path in sources:
        text = path.read_text(encoding="utf-8")
        assert not re.search(r"^\s*(import|from)\s+(c?pickle|dill|joblib|shelve|marshal)\b", text, re.M), path
        assert "allow_pickle=True" not in text and "safe_mode=False" not in text, path
        for call in re.findall(r"np\.load\([^)]*\)", text):
            assert "allow_pickle=False" in call, (path, call)
        for call in re.findall(r"load_model\([^)]*\)", text):
            assert "safe_mode=True" in call, (path, call)


def test_download_with_a_wrong_digest_exits_2_and_leaves_the_cache_empty(file_server, tmp_path, capsys):
    holder, base_url = file_server
    served = tmp_path / "served"
    for relative in DIGESTS["atis"]:
        (served / "atis" / relative).parent.mkdir(parents=True, exist_ok=True)
        (served / "atis" / relative).write_text("not the published file\n")
    holder["directory"] = str(served)
    cache = tmp_path / "cache"
    assert exit_status(data_cli.main, ["download", "atis", "--dir", str(cache), "--base-url", base_url]) == 2
    one_line_error(capsys, "download atis/", "SHA-256 mismatch", prefix="error: ")
    assert list(cache.iterdir()) == []


def test_download_replaces_a_symlink_in_the_cache_without_writing_through_it(file_server, tmp_path):
    holder, base_url = file_server
    content = b"flights to boston\n"
    (tmp_path / "served" / "mini").mkdir(parents=True)
    (tmp_path / "served" / "mini" / "seq.in").write_bytes(content)
    holder["directory"] = str(tmp_path / "served")
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "seq.in").write_bytes(b"precious\n")
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / "mini").symlink_to(outside, target_is_directory=True)
    folder = data.download("mini", cache, base_url=base_url, digests={"seq.in": hashlib.sha256(content).hexdigest()})
    assert folder == cache / "mini" and not folder.is_symlink()
    assert (folder / "seq.in").read_bytes() == content
    assert (outside / "seq.in").read_bytes() == b"precious\n" and sorted(os.listdir(outside)) == ["seq.in"]
    assert sorted(os.listdir(cache)) == ["mini"]


def test_atomic_writers_leave_no_temporary_file_when_they_fail(tmp_path):
    with pytest.raises(UnicodeEncodeError):
        common.atomic_write_text(tmp_path / "metrics.json", "\udcff")

    class FailingModel:
        def save(self, path):
            Path(path).write_bytes(b"half a model")
            raise OSError(28, "No space left on device")

        save_weights = save

    with pytest.raises(OSError):
        common.atomic_save_model(FailingModel(), tmp_path / "model.keras")
    with pytest.raises(OSError):
        common.atomic_save_weights(FailingModel(), tmp_path / "last.weights.h5")
    assert list(tmp_path.iterdir()) == []
