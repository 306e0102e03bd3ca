"""`python -m data`: describe, write and download, run as a user would (in a subprocess)."""

import http.server
import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent


def run_cli(*arguments, cache=None):
    environment = dict(os.environ)
    if cache is not None:
        environment["SLOT_RNN_DATA"] = str(cache)
    return subprocess.run(
        [sys.executable, "-m", "data", *map(str, arguments)],
        cwd=REPO_ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )


def assert_one_line_error(result, *fragments):
    assert result.returncode == 2, result
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("python -m data: error: ")
    for fragment in fragments:
        assert fragment in lines[0]


def write_folder(root: Path, tags_line="O O B-toloc.city_name"):
    for split in ("train", "dev", "test"):
        (root / split).mkdir(parents=True)
        (root / split / "seq.in").write_text("flights to boston\nflights to denver\n")
        (root / split / "seq.out").write_text(f"O O B-toloc.city_name\n{tags_line}\n")
    return root


@pytest.fixture
def file_server():
    """An HTTP server on 127.0.0.1; set `.directory` on the returned holder before use."""
    served = {}

    class Handler(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *arguments, **keywords):
            super().__init__(*arguments, directory=served["directory"], **keywords)

        def log_message(self, *arguments):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield served, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
    thread.join()


def test_describe_travel_prints_a_table(tmp_path):
    result = run_cli("describe", "travel", cache=tmp_path)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "dataset: travel"
    assert lines[1].split()[:3] == ["split", "sentences", "tokens"]
    assert [line.split()[:2] for line in lines[2:5]] == [["train", "2000"], ["dev", "500"], ["test", "500"]]


def test_describe_travel_json_counts_every_split(tmp_path):
    result = run_cli("describe", "travel", "--json", cache=tmp_path)
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert list(summary) == ["train", "dev", "test"]
    assert [summary[split]["sentences"] for split in summary] == [2000, 500, 500]
    assert summary["train"]["unknown_word_rate"] == 0.0
    assert 0.0 < summary["test"]["unknown_word_rate"] < 0.2  # held-out cities and airlines
    assert summary["train"]["intents"] == 5


def test_describe_bad_folder_exits_2_with_one_line_naming_file_and_line(tmp_path):
    root = write_folder(tmp_path / "bad", tags_line="O B-toloc.city_name")
    result = run_cli("describe", root, cache=tmp_path)
    assert_one_line_error(result, "bad/train/seq.out line 2: 2 tags for 3 words")
    assert result.stdout == ""


@pytest.mark.parametrize(
    "arguments, fragment",
    [
        (["describe", "no/such/folder"], "no/such/folder: no such dataset"),
        (["describe", "travel", "--dev-fraction", "0.9"], "dev_fraction must be between 0 and 0.5"),
        (["describe", "atis"], "run `python -m data download atis`"),
    ],
)
def test_describe_bad_sources_exit_2_without_traceback(tmp_path, arguments, fragment):
    assert_one_line_error(run_cli(*arguments, cache=tmp_path), fragment)


@pytest.mark.parametrize(
    "arguments",
    [[], ["describe"], ["frobnicate", "travel"], ["download", "imdb"], ["describe", "travel", "--seed", "x"]],
)
def test_command_line_usage_errors_exit_2(tmp_path, arguments):
    result = run_cli(*arguments, cache=tmp_path)
    assert result.returncode == 2
    assert "usage:" in result.stderr and "Traceback" not in result.stderr


def test_write_travel_then_describe_the_folder(tmp_path):
    target = tmp_path / "datasets" / "travel"
    result = run_cli("write", "travel", target, "--seed", "2", cache=tmp_path)
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in (target / "train").iterdir()) == ["context", "label", "seq.in", "seq.out"]
    described = json.loads(run_cli("describe", target, "--json", cache=tmp_path).stdout)
    assert [described[split]["sentences"] for split in ("train", "dev", "test")] == [2000, 500, 500]
    again = run_cli("write", "travel", target, cache=tmp_path)
    assert_one_line_error(again, "already exists")
    assert sorted(p.name for p in target.parent.iterdir()) == ["travel"]


def test_download_failure_exits_2_and_leaves_nothing(tmp_path, file_server):
    served, base_url = file_server
    served["directory"] = str(tmp_path / "empty")
    (tmp_path / "empty").mkdir()
    cache = tmp_path / "cache"
    result = run_cli("download", "snips", "--dir", cache, "--base-url", base_url, cache=tmp_path)
    assert_one_line_error(result, "download snips/", "HTTP 404")
    assert list(cache.iterdir()) == []


def test_download_atis_from_a_local_mirror_then_describe_it_by_name(tmp_path, file_server, atis_dir):
    served, base_url = file_server
    served["directory"] = str(atis_dir.parent)
    result = run_cli("download", "atis", "--base-url", base_url, cache=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str(tmp_path / "atis")
    described = json.loads(run_cli("describe", "atis", "--json", cache=tmp_path).stdout)
    assert [described[split]["sentences"] for split in ("train", "dev", "test")] == [4478, 500, 893]


def test_describe_atis_json_prints_the_published_sizes(tmp_path, atis_dir):
    result = run_cli("describe", atis_dir, "--json", cache=tmp_path)
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert [summary[split]["sentences"] for split in ("train", "dev", "test")] == [4478, 500, 893]
    assert sum(summary["test"]["unseen_tags"].values()) == 6
