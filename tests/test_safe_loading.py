"""Loading files that strangers send: no pickle anywhere, downloads checked against their digests,
writes whole or not at all."""

import hashlib
import http.server
import os
import re
import threading
from pathlib import Path

import pytest

import data
import data.__main__ as data_cli
from data.atomic import atomic_write_text
from data.download import DIGESTS
from recipes.training import checkpoints, run_folder
from support import (  # noqa: F401  (compilation_cache: an autouse fixture of this module)
    REPO_ROOT,
    compilation_cache,
    exit_status,
    one_line_error,
)


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


# ---------------------------------------------------------------------------
# Files from strangers: no pickle, safe loading, verified downloads, atomic writers
# ---------------------------------------------------------------------------


def test_no_pickle_anywhere_and_every_loader_is_safe():
    sources = sorted(
        path
        for folder in ("data", "recipes", "custom_layers", "benchmarks")
        for path in (REPO_ROOT / folder).rglob("*.py")
    )
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
    one_line_error(capsys, "download atis/", "SHA-256 mismatch", prefix="python -m data: error: ")
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
        atomic_write_text(tmp_path / "metrics.json", "\udcff")

    class FailingModel:
        def save(self, path):
            Path(path).write_bytes(b"half a model")
            raise OSError(28, "No space left on device")

        save_weights = save

    with pytest.raises(OSError):
        run_folder.save_model(FailingModel(), tmp_path / "model.keras")
    with pytest.raises(OSError):
        checkpoints.save_weights(FailingModel(), tmp_path / "last.weights.h5")
    assert list(tmp_path.iterdir()) == []
