"""Datasets by name and downloads (`data.download`): the cache folder of a named corpus, downloads
from a local HTTP server that are verified and leave nothing half-written, and the real ATIS corpus
where it is at hand."""

import functools
import hashlib
import http.server
import threading
from pathlib import Path

import pytest

from data import DatasetError, download, load_dataset
from support import make_folder

# --------------------------------------------------------------------------- cached downloads by name


def test_atis_by_name_before_download_says_how_to_get_it(tmp_path, monkeypatch):
    monkeypatch.setenv("SLOT_RNN_DATA", str(tmp_path))
    with pytest.raises(DatasetError, match=r"run `python -m data download atis`"):
        load_dataset("atis")


def test_atis_by_name_reads_the_cache_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("SLOT_RNN_DATA", str(tmp_path))
    make_folder(tmp_path / "atis")
    dataset = load_dataset("atis")
    assert dataset.name == "atis" and len(dataset.train) == 5


# --------------------------------------------------------------------------- downloads (local server only)


@pytest.fixture
def file_server(tmp_path):
    """An HTTP server on 127.0.0.1 serving tmp_path/served; yields its base URL."""
    served = tmp_path / "served"
    served.mkdir()
    handler = functools.partial(QuietHandler, directory=str(served))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield served, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
    thread.join()


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *arguments):
        pass


def serve_tiny_corpus(served: Path) -> dict[str, str]:
    make_folder(served / "tiny")
    (served / "tiny" / "slot_label.txt").write_text("O\nB-toloc.city_name\n")
    return {
        str(path.relative_to(served / "tiny")): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted((served / "tiny").rglob("*"))
        if path.is_file()
    }


def test_download_fetches_verifies_and_reuses_the_cache(file_server, tmp_path):
    served, base_url = file_server
    digests = serve_tiny_corpus(served)
    cache = tmp_path / "cache"
    folder = download("tiny", cache, base_url=base_url, digests=digests)
    assert folder == cache / "tiny"
    assert load_dataset(str(folder)).splits() == load_dataset(str(served / "tiny")).splits()
    assert (folder / "slot_label.txt").read_text() == "O\nB-toloc.city_name\n"
    assert [p.name for p in cache.iterdir()] == ["tiny"]
    # A complete folder is returned without asking the server again.
    (served / "tiny" / "train" / "seq.in").unlink()
    assert download("tiny", cache, base_url=base_url, digests=digests) == folder


def test_download_with_a_wrong_digest_fails_and_leaves_no_folder(file_server, tmp_path):
    served, base_url = file_server
    digests = serve_tiny_corpus(served)
    digests["test/seq.out"] = "0" * 64
    cache = tmp_path / "cache"
    with pytest.raises(DatasetError, match=r"tiny/test/seq.out: SHA-256 mismatch"):
        download("tiny", cache, base_url=base_url, digests=digests)
    assert list(cache.iterdir()) == []


def test_download_of_a_missing_file_fails_and_leaves_no_folder(file_server, tmp_path):
    served, base_url = file_server
    digests = serve_tiny_corpus(served)
    digests["train/extra"] = "0" * 64
    with pytest.raises(DatasetError, match=r"tiny/train/extra: HTTP 404"):
        download("tiny", tmp_path / "cache", base_url=base_url, digests=digests)
    assert list((tmp_path / "cache").iterdir()) == []


@pytest.mark.parametrize("relative", ["../escape", "/etc/passwd", "train/../../x", "a\\b", "train//seq.in"])
def test_download_refuses_paths_that_leave_the_cache(tmp_path, relative):
    with pytest.raises(DatasetError, match="must stay inside the dataset folder"):
        download("tiny", tmp_path / "cache", base_url="http://127.0.0.1:9", digests={relative: "0" * 64})
    assert not (tmp_path / "cache").exists()


def test_download_refuses_unknown_names_and_schemes(tmp_path):
    with pytest.raises(DatasetError, match="unknown dataset 'imdb'"):
        download("imdb", tmp_path)
    with pytest.raises(DatasetError, match="refusing dataset name"):
        download("../up", tmp_path, digests={"a": "0" * 64})
    with pytest.raises(DatasetError, match="http:// or https://"):
        download("atis", tmp_path, base_url="file:///etc")


# --------------------------------------------------------------------------- ATIS (skips without the corpus)


def test_atis_folder_loads_with_published_sizes_and_unseen_test_tags(atis_dir):
    dataset = load_dataset(str(atis_dir))
    assert (len(dataset.train), len(dataset.dev), len(dataset.test)) == (4478, 500, 893)
    train_tags = {tag for tags in dataset.train.tags for tag in tags}
    unseen = [tag for tags in dataset.test.tags for tag in tags if tag not in train_tags]
    assert len(unseen) == 6  # kept as written, for scoring
    assert dataset.train.intents[0] == "atis_flight"
