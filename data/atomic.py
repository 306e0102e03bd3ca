"""Files that are whole or absent: written under a temporary name, then renamed into place.

    with atomic_path("runs/lstm-1/model.keras") as temporary:
        model.save(temporary)       # readers see the old file or the new one, never half of one

    atomic_write_text("runs/lstm-1/metrics.json", text)
    replace_folder(new_folder, "datasets/travel")   # a whole folder, swapped in one step

The temporary file sits beside its target (so the rename never crosses file
systems), is named `.partial.<random>.<name>` (so the name keeps its suffix,
which `model.save` and `save_weights` insist on, two processes never share one,
and a cleanup finds every leftover with the glob `PARTIAL_GLOB`), and is deleted
when writing fails. This module holds the project's only `os.replace`.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import tempfile
from pathlib import Path

PARTIAL_PREFIX = ".partial."
PARTIAL_GLOB = PARTIAL_PREFIX + "*"


def replace(source, target) -> None:
    """Renames `source` over `target` in one step (both in one folder)."""
    os.replace(source, target)


@contextlib.contextmanager
def atomic_path(path):
    """Yields a temporary path beside `path`; renames it to `path` when the block succeeds.

    On any exception (Ctrl-C included) the temporary file is deleted and `path`
    is left as it was.
    """
    path = Path(path)
    # A random name rather than `tempfile.mkstemp`: the writer creates the file itself, so it gets
    # the permissions every other file gets (mkstemp's are owner-only).
    temporary = path.with_name(f"{PARTIAL_PREFIX}{secrets.token_hex(6)}.{path.name}")
    try:
        yield temporary
        replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def atomic_write_text(path, text: str) -> None:
    """Writes UTF-8 `text` (newlines as given) so that a reader never sees it half-written."""
    with atomic_path(path) as temporary:
        with open(temporary, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)


def atomic_write_bytes(path, payload: bytes) -> None:
    with atomic_path(path) as temporary:
        temporary.write_bytes(payload)


def replace_folder(source, target) -> None:
    """Moves the finished folder `source` to `target`, replacing a folder already there.

    `source` must sit beside `target`. An existing `target` is first moved
    aside, so that at every moment `target` is either the old folder or the new one.
    """
    source, target = Path(source), Path(target)
    if target.exists() or target.is_symlink():
        aside = Path(tempfile.mkdtemp(prefix=f"{PARTIAL_PREFIX}old.", dir=target.parent))
        replace(target, aside / "previous")
        replace(source, target)
        shutil.rmtree(aside, ignore_errors=True)
    else:
        replace(source, target)
