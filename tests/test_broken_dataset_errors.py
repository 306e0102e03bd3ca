"""Every command against a broken dataset or word-vector file: one line on standard error naming the
file and line, exit status 2, no traceback, and nothing half-written.

Commands are called in-process through `main(argv)`; a few run as real subprocesses to show that
the command line prints no traceback either.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest

import data.__main__ as data_cli
from recipes import lstm, tune
from support import (  # noqa: F401  (compilation_cache: an autouse fixture of this module)
    REPO_ROOT,
    TENSORFLOW_NOTICE,
    TINY,
    TINY_SEARCH,
    compilation_cache,
    exit_status,
    one_line_error,
    recipe_argv,
    subprocess_env,
)

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
    "tag_count": (
        lambda t: dataset_folder(t / "d", **{"seq.out": "O O B-toloc.city_name\nO B-fromloc.city_name O\n"}),
        ["d/train/seq.out line 2: 3 tags for 4 words"],
    ),
    "line_count": (
        lambda t: dataset_folder(t / "d", **{"seq.out": "O O B-toloc.city_name\n"}),
        ["d/train/seq.out line 2: missing"],
    ),
    "label_count": (
        lambda t: dataset_folder(t / "d", label="atis_flight\natis_flight\natis_airfare\n"),
        ["d/train/label line 3: one line too many"],
    ),
    "not_utf8": (
        lambda t: dataset_folder(t / "d", **{"seq.in": b"flights to boston\nleave d\xe9nver on monday\n"}),
        ["d/train/seq.in line 2: bytes that are not UTF-8"],
    ),
    "bad_tag_prefix": (
        lambda t: dataset_folder(t / "d", **{"seq.out": "O O X-toloc.city_name\nO O O O\n"}),
        ["d/train/seq.out line 1: tag 'X-toloc.city_name'"],
    ),
    "tag_without_slot": (
        lambda t: dataset_folder(t / "d", **{"seq.out": "O O B-\nO O O O\n"}),
        ["d/train/seq.out line 1: tag 'B-'"],
    ),
    "empty_file": (
        lambda t: dataset_folder(t / "d", **{"seq.in": "", "seq.out": "", "label": None}),
        ["d/train/seq.in line 1: empty file"],
    ),
    "empty_line": (
        lambda t: dataset_folder(
            t / "d",
            **{
                "seq.in": "flights to boston\n\nleave denver\n",
                "seq.out": "O O B-toloc.city_name\n\nO O\n",
                "label": None,
            },
        ),
        ["d/train/seq.in line 2: empty line"],
    ),
    "missing_file": (lambda t: dataset_folder(t / "d", **{"seq.out": None}), ["d/train/seq.out: no such file"]),
    "file_is_a_folder": (
        lambda t: (dataset_folder(t / "d", **{"seq.in": None}) / "train" / "seq.in").mkdir() or t / "d",
        ["d/train/seq.in: is a folder"],
    ),
    "device_instead_of_file": (lambda t: link_to_a_device(t / "d"), ["d/train/seq.in: not a regular file"]),
    "missing_split": (lambda t: dataset_folder(t / "d", splits=("train", "dev")), ["d/test: missing split"]),
    "dev_and_valid": (
        lambda t: dataset_folder(t / "d", splits=("train", "dev", "valid", "test")),
        ["both dev/ and valid/"],
    ),
    "too_small_to_carve_dev": (
        lambda t: dataset_folder(
            t / "d", splits=("train", "test"), **{"seq.in": "flights\n", "seq.out": "O\n", "label": None}
        ),
        ["d/train: 1 sentence(s) are too few"],
    ),
    "csv_missing_column": (
        lambda t: write(t / "d.csv", "words,intent\nflights to boston,atis_flight\n"),
        ["d.csv line 1: no 'tags' column"],
    ),
    "csv_short_row": (
        lambda t: write(t / "d.csv", "words,tags,intent\nflights to boston,O O B-toloc.city_name,x\nleave denver\n"),
        ["d.csv line 3: 1 fields, the header has 3"],
    ),
    "csv_bad_split": (
        lambda t: write(t / "d.csv", "words,tags,split\nflights to boston,O O B-toloc.city_name,holdout\n"),
        ["d.csv line 2: split 'holdout'"],
    ),
    "csv_header_only": (lambda t: write(t / "d.csv", "words,tags\n"), ["d.csv line 2: no sentences after the header"]),
    "tsv_tag_count": (
        lambda t: write(t / "d.tsv", "words\ttags\nflights to boston\tO O\n"),
        ["d.tsv line 2: 2 tags for 3 words"],
    ),
    "conll_one_column": (lambda t: write(t / "d.conll", "flights O\nboston\n"), ["d.conll line 2: 1 column"]),
    "conll_blank": (lambda t: write(t / "d.conll", "\n\n  \n"), ["d.conll line 1: empty file"]),
    "conll_not_utf8": (
        lambda t: write(t / "d.conll", b"flights O\n\xff B-x\n"),
        ["d.conll line 2: bytes that are not UTF-8 (0xff at column 1)"],
    ),
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
    one_line_error(capsys, *fragments, prefix="python -m data: error: ")
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
    completed = subprocess.run(
        [sys.executable, "-m", "data", "describe", str(folder)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert completed.returncode == 2 and "Traceback" not in completed.stderr
    assert completed.stderr.strip() == f"python -m data: error: {folder}/train/seq.out: not a regular file"


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
    "no_word_vectors_to_start": (
        "boston 0.1 0.2 0.3\n",
        ["--encoding", "trigram"],
        ["--word-vectors needs --encoding embedding"],
    ),
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
# The real command line: no traceback
# ---------------------------------------------------------------------------


def test_commands_print_one_line_and_no_traceback_from_the_command_line(tmp_path, straight_run, compilation_cache):
    bad_folder, _ = bad_dataset(tmp_path, "tag_count")
    bad_csv, _ = bad_dataset(tmp_path, "csv_missing_column")
    folder_error = "d/train/seq.out line 2: 3 tags for 4 words"
    commands = {  # name: (arguments of python -m, standard input, the error line's start, a fragment of it)
        "data": (["data", "describe", bad_folder], b"", "python -m data: error: ", folder_error),
        "recipe": (
            ["recipes.gru", "--data", bad_csv, "--output-dir", str(tmp_path / "run")],
            b"",
            "python -m recipes.gru: error: ",
            "d.csv line 1: no 'tags' column",
        ),
        "predict": (
            ["recipes.predict", "--model-dir", str(straight_run)],
            b"leave boston\n\xc3\x28\n",
            "python -m recipes.predict: error: ",
            "standard input line 2: bytes that are not UTF-8 (0xc3",
        ),
        "tune": (
            ["recipes.tune", "--data", bad_folder, "--directory", str(tmp_path / "tuning")],
            b"",
            "python -m recipes.tune: error: ",
            folder_error,
        ),
    }
    processes = {
        name: subprocess.Popen(
            [sys.executable, "-m", *argv],
            cwd=tmp_path,
            env=subprocess_env(compilation_cache),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
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
