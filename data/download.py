"""Download ATIS or SNIPS (as published in the monologg/JointBERT repository) into a local cache.

    python -m data download atis            # -> ~/.cache/slot-rnn/atis (or $SLOT_RNN_DATA/atis)

Every file is checked against the SHA-256 digest written below. Files are
fetched into a temporary folder inside the cache, all of them are verified, and
only then is the folder renamed into place: a failed or interrupted download
leaves nothing behind. Nothing is downloaded at import time.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import tempfile
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path, PurePosixPath

from data.atomic import replace_folder
from data.readers import DatasetError

DEFAULT_BASE_URL = "https://raw.githubusercontent.com/monologg/JointBERT/master/data"
CACHE_VARIABLE = "SLOT_RNN_DATA"
MAX_FILE_BYTES = 64 * 1024 * 1024

# SHA-256 of every file, as published at DEFAULT_BASE_URL/<name>/<path>.
DIGESTS: dict[str, dict[str, str]] = {
    "atis": {
        "intent_label.txt": "d4e228c803961a6939ceaa5c791e7730457c92480687144bdfd10e4d0d9b8284",
        "slot_label.txt": "3986c69b49e5895826fa021e5dc57382e6e9724ef58182b418997ca0cacbbcb3",
        "train/seq.in": "3a670980841b21ab39088b2595efc17d487cdc45769c075a3e5f9458bba28c7f",
        "train/seq.out": "14c7131bd66562f797dbd7189bc7358f0cf354c6afb0785a9ab973c35b58f34c",
        "train/label": "d0a771547665eecbdf9f96ea015ef07d1f6ee9f063e861020dafabb3c2a04377",
        "dev/seq.in": "c7435b96e7948393608c34819628e863c5338f11ca68e8f896d2cc041d8e17f8",
        "dev/seq.out": "83ccff3e36f83a993f8e5b5b82adf3256076f234abda4d784051381d7ac76922",
        "dev/label": "06957cfe6fdffac84f8280bc3a1f8ca85c85631b363817aa4543aac611f8addf",
        "test/seq.in": "4b2119fc59c37f9398c6605db435d4f467505009e6ee3e5af04fed09f39dc397",
        "test/seq.out": "a4690d6bceadc06876d1ff99bc401744aa981cb321e598ae12a3859d7be53254",
        "test/label": "ce4bfe6590d9498e1078f30b4137d3e8b3e94277b444b26360c0bf2e9e282761",
    },
    "snips": {
        "intent_label.txt": "65e97527fa7048ee19a5a9a030c1feb43846ac48a99d2efeacbf44b9dd6014e8",
        "slot_label.txt": "d355b87d41fe23ff1c9d81e419333387590a305b32f7431df170deb379614d26",
        "train/seq.in": "04ad1e3f2121d83c6478f9a4b17d2dbdc21d06d6127f73cb7af835ed733f9855",
        "train/seq.out": "fd5f2121d8055827e5d6b3d3bac30f3d7e94e82a5d437751960cbdd9e1b4f6d3",
        "train/label": "bfd7df6cf9dd76c5da5d8b61bc85f90386197bdd3d7510c1d324c051537b962f",
        "dev/seq.in": "64e0f6d8ad8aab3a3828164d7d53731a0993d3ca1aed437ceaca6d3d568d410e",
        "dev/seq.out": "712e6d34feb8d52d208b820a5f8bae6e6ff990f08374507dfde22de389088319",
        "dev/label": "9c1dd041216f647bcfca838aaf1a48eb5781e4404256d31ff07cd38a5436c52f",
        "test/seq.in": "c1e341173fcea2951a8ca371956a6f81c76de87b9583c62eb87edd6158fa3a7c",
        "test/seq.out": "58c07c9097d5e1f78889765c2a535a160f6455b90b3142055c8051847afcca47",
        "test/label": "37a26da3ad079bb41c42c85a3a8f827eb47efec4c5917ce5d08f4b2736e4f830",
    },
}

_NAME = re.compile(r"[a-z0-9][a-z0-9_-]*")
_HEX_DIGEST = re.compile(r"[0-9a-f]{64}")


def default_cache_dir() -> Path:
    """`$SLOT_RNN_DATA` when set, else `~/.cache/slot-rnn`."""
    configured = os.environ.get(CACHE_VARIABLE)
    return Path(configured).expanduser() if configured else Path.home() / ".cache" / "slot-rnn"


def safe_relative_path(relative: str) -> PurePosixPath:
    """A relative path with no `..`, no absolute start and no backslash, or `DatasetError`."""
    path = PurePosixPath(relative)
    if (
        not relative
        or "\\" in relative
        or path.is_absolute()
        or any(part in ("", ".", "..") for part in relative.split("/"))
    ):
        raise DatasetError(f"refusing file path {relative!r}: it must stay inside the dataset folder")
    return path


def file_digest(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def is_complete(folder: Path, digests: dict[str, str]) -> bool:
    """Whether `folder` holds every file of `digests` with the right content."""
    try:
        return all(file_digest(folder / relative) == expected for relative, expected in digests.items())
    except OSError:
        return False


def fetch(url: str, target: Path, expected: str, label: str, timeout: float) -> None:
    """Stream `url` into `target`, checking its size limit and SHA-256."""
    digest = hashlib.sha256()
    size = 0
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response, open(target, "wb") as file:
            while block := response.read(1 << 16):
                size += len(block)
                if size > MAX_FILE_BYTES:
                    raise DatasetError(f"download {label}: larger than {MAX_FILE_BYTES} bytes, stopped ({url})")
                digest.update(block)
                file.write(block)
    except urllib.error.HTTPError as error:
        raise DatasetError(f"download {label}: HTTP {error.code} {error.reason} ({url})") from None
    except urllib.error.URLError as error:
        raise DatasetError(f"download {label}: {error.reason} ({url})") from None
    except (TimeoutError, ConnectionError) as error:
        raise DatasetError(f"download {label}: {error} ({url})") from None
    if digest.hexdigest() != expected:
        raise DatasetError(f"download {label}: SHA-256 mismatch, expected {expected}, got {digest.hexdigest()} ({url})")


def download(
    name: str,
    directory=None,
    *,
    base_url: str = DEFAULT_BASE_URL,
    digests: dict[str, str] | None = None,
    timeout: float = 60.0,
) -> Path:
    """Download dataset `name` into `directory/name` and return that folder.

    Args:
        name: "atis" or "snips" (any simple name when `digests` is given).
        directory: the cache folder; default `$SLOT_RNN_DATA` or `~/.cache/slot-rnn`.
        base_url: files are fetched from `<base_url>/<name>/<relative path>` (http or https).
        digests: `{relative path: SHA-256 hex}` of the files to fetch; default the
            published digests of `name`.
        timeout: seconds to wait on the network for each file.

    A folder already holding every file with the right digest is returned as it
    is. Otherwise all files are fetched into a temporary folder inside
    `directory`, verified, and renamed into place (replacing an incomplete
    folder); on any failure the temporary folder is removed and `DatasetError`
    says which file and why.
    """
    if digests is None:
        if name not in DIGESTS:
            raise DatasetError(f"unknown dataset {name!r} to download, expected one of: {', '.join(DIGESTS)}")
        digests = DIGESTS[name]
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise DatasetError(f"refusing dataset name {name!r}: lowercase letters, digits, '_' and '-' only")
    if not digests:
        raise DatasetError(f"no files to download for {name!r}")
    for relative, expected in digests.items():
        safe_relative_path(relative)
        if not isinstance(expected, str) or not _HEX_DIGEST.fullmatch(expected):
            raise DatasetError(f"digest of {name}/{relative} is not 64 lowercase hex digits: {expected!r}")
    scheme = urllib.parse.urlsplit(base_url).scheme
    if scheme not in ("http", "https"):
        raise DatasetError(f"base URL must start with http:// or https://, got {base_url!r}")

    cache = Path(directory).expanduser() if directory is not None else default_cache_dir()
    target = cache / name
    if is_complete(target, digests):
        return target
    cache.mkdir(parents=True, exist_ok=True)
    temporary = Path(tempfile.mkdtemp(prefix=f".{name}-download-", dir=cache)).resolve()
    try:
        for relative, expected in digests.items():
            destination = (temporary / safe_relative_path(relative)).resolve()
            if temporary not in destination.parents:
                raise DatasetError(f"refusing file path {relative!r}: it must stay inside the dataset folder")
            destination.parent.mkdir(parents=True, exist_ok=True)
            url = f"{base_url.rstrip('/')}/{urllib.parse.quote(name)}/{urllib.parse.quote(relative)}"
            fetch(url, destination, expected, f"{name}/{relative}", timeout)
        replace_folder(temporary, target)
    except BaseException:
        shutil.rmtree(temporary, ignore_errors=True)
        raise
    return target
