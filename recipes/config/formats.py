"""The versions of the JSON files that runs and searches write, and the reading of older ones.

Each of these files is a JSON object whose first two keys name its format and
its version, as `encoder.json` does (`data/encoders.py`):

    config.json             {"format": "slot-rnn-run-config", "version": 2, "recipe": "lstm", ...}
    checkpoint/state.json   {"format": "slot-rnn-checkpoint-state", "version": 2, "epochs_done": 3, ...}
    metrics.json            {"format": "slot-rnn-metrics", "version": 2, "recipe": "lstm", ...}
    search.json             {"format": "slot-rnn-search", "version": 2, "flags": {...}}

A file without a `"version"` is version 1: what the code wrote before files
carried one. `read_versioned(path, FORMAT)` reads a file: a JSON object (else
one line naming the file, and the line of bad JSON), refused in one line when
it names another format or a version newer than this code knows, and brought
to the current version by its format's one migration function, which takes the
dict of any earlier version. Writers put the two keys first with `stamped`.

The versions:

    config.json   1  the settings of the run (`settings.as_config`) and the recipe's name; written before
                     models had intent heads, without "intent", "intent_pooling", "intent_to_slots",
                     "intent_weight" and "monitor" (such a run trained slots only and followed dev slot F1)
                  2  "format" and "version" added
    state.json    1  "best_f1" held the best monitored score (slot F1 or frame accuracy); "seed_states"
                     absent when written before the seed generators' states were saved; the optimizer's
                     state in optimizer.npz, besides the two weights files of the compiled model
                  2  "best_score" for "best_f1"; "seed_states" always (null: not saved, in a migrated
                     version 1 file only); "optimizer_file" names the one file holding the optimizer's state:
                     "last.weights.h5" (best.weights.h5 then holds the layers' weights only), or
                     "optimizer.npz" in a migrated version 1 checkpoint
    metrics.json  1  the run's scores (`recipe.run_metrics`)
                  2  "format" and "version" added
    search.json   1  {"flags": {...}}; written before the intent flags, without "columns", "intent",
                     "intent_pooling", "intent_to_slots", "min_intent_weight", "max_intent_weight" and
                     "objective" (such a search trained no intent head and maximised dev slot F1)
                  2  "format" and "version" added
"""

import dataclasses
import json
from collections.abc import Callable
from pathlib import Path

from recipes.config.errors import UsageError, one_line

FORMAT_KEY, VERSION_KEY = "format", "version"
UNVERSIONED = 1  # the version of a file without a "version" key


class FormatError(ValueError):
    """A file whose "format" or "version" is wrong, or an earlier version's file that its
    migration cannot bring up to date; the message names the key."""


@dataclasses.dataclass(frozen=True)
class FileFormat:
    """A kind of file: its name (the "format" key), its current version, and the
    migration that turns the dict of any earlier version into the current one's."""

    name: str
    version: int
    migrate: Callable[[dict], dict]


def stamped(file_format, body):
    """`body` as a file of the current version: "format" and "version" first, then its own keys."""
    return {FORMAT_KEY: file_format.name, VERSION_KEY: file_format.version, **without_stamp(body)}


def without_stamp(value):
    """The keys of a file besides "format" and "version"."""
    return {key: item for key, item in value.items() if key not in (FORMAT_KEY, VERSION_KEY)}


def version_of(value, file_format):
    """The version of the parsed file `value` (1 without one); `FormatError` when it names
    another format or holds something other than a version number."""
    if FORMAT_KEY not in value and VERSION_KEY not in value:
        return UNVERSIONED
    name, version = value.get(FORMAT_KEY), value.get(VERSION_KEY)
    if name != file_format.name:
        raise FormatError(f"'format' is {name!r}, expected {file_format.name!r}")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise FormatError(f"'version' must be a whole number from 1, got {version!r}")
    return version


def upgrade(value, file_format, path):
    """The parsed file `value` of `path` at the current version of `file_format`;
    `UsageError` in one line naming the file when it is of a newer version than
    this code knows, names another format, or cannot be migrated."""
    try:
        version = version_of(value, file_format)
        if version > file_format.version:
            raise UsageError(
                f"{path}: version {version} of the {file_format.name} format, newer than version "
                f"{file_format.version} that this code reads; read it with the newer code that wrote it"
            )
        return file_format.migrate(value)
    except FormatError as error:
        raise UsageError(f"{path}: {error}") from None


def read_versioned(path, file_format):
    """The JSON object in `path`, at the current version of `file_format` (see `upgrade`)."""
    return upgrade(read_json_object(path), file_format, path)


def read_json_object(path):
    """A JSON object from a run or search folder's file, or `UsageError` naming the file (and line)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UsageError(f"{path}: missing") from None
    except (OSError, UnicodeDecodeError) as error:
        raise UsageError(f"{path}: cannot read ({getattr(error, 'strerror', None) or one_line(error)})") from None
    try:
        value = json.loads(text)
    except json.JSONDecodeError as error:
        raise UsageError(f"{path} line {error.lineno}: not valid JSON ({error.msg})") from None
    if not isinstance(value, dict):
        raise UsageError(f"{path}: expected a JSON object, got {type(value).__name__}")
    return value


# ---------------------------------------------------------------------------
# config.json
# ---------------------------------------------------------------------------

# The model flags of a config.json written before models had intent heads: such a run trained slots only
# and followed the dev slot F1.
CONFIG_BEFORE_INTENTS = {
    "intent": False,
    "intent_pooling": "attention",
    "intent_to_slots": False,
    "intent_weight": None,
    "monitor": "slot_f1",
}


def migrate_run_config(value):
    """A `config.json` of any version as version 2: one from before intent heads
    gets the flags of a run without one (`CONFIG_BEFORE_INTENTS`)."""
    version = version_of(value, RUN_CONFIG)
    body = without_stamp(value)
    if version < 2:
        body = {**CONFIG_BEFORE_INTENTS, **body}
    return stamped(RUN_CONFIG, body)


RUN_CONFIG = FileFormat("slot-rnn-run-config", 2, migrate_run_config)


# ---------------------------------------------------------------------------
# checkpoint/state.json
# ---------------------------------------------------------------------------


def migrate_checkpoint_state(value):
    """A `state.json` of any version as version 2: "best_f1" becomes "best_score",
    absent seed states become null (not saved: the generators keep the states the
    model was built with), and "optimizer_file" names `optimizer.npz`, where version 1
    checkpoints hold the optimizer's state. `FormatError` when "best_f1" is missing."""
    version = version_of(value, CHECKPOINT_STATE)
    body = without_stamp(value)
    if version < 2:
        if "best_f1" not in body:
            raise FormatError("'best_f1' is missing")
        body = {key: item for key, item in body.items() if key != "best_f1"}
        body = {"best_score": value["best_f1"], "seed_states": None, **body, "optimizer_file": "optimizer.npz"}
    return stamped(CHECKPOINT_STATE, body)


CHECKPOINT_STATE = FileFormat("slot-rnn-checkpoint-state", 2, migrate_checkpoint_state)


# ---------------------------------------------------------------------------
# metrics.json
# ---------------------------------------------------------------------------


def migrate_metrics(value):
    """A `metrics.json` of any version as version 2 (the same scores: version 2 added the version)."""
    version_of(value, METRICS)
    return stamped(METRICS, value)


METRICS = FileFormat("slot-rnn-metrics", 2, migrate_metrics)


# ---------------------------------------------------------------------------
# search.json
# ---------------------------------------------------------------------------

# The search flags of a search.json written before the intent flags, with the value such a search had: it
# trained no intent head and maximised dev slot F1.
SEARCH_BEFORE_INTENTS = {
    "columns": None,
    "intent": False,
    "intent_pooling": None,
    "intent_to_slots": None,
    "min_intent_weight": None,
    "max_intent_weight": None,
    "objective": "val_slot_f1",
}


def migrate_search(value):
    """A `search.json` of any version as version 2: the flags of one from before
    the intent flags get the values such a search had (`SEARCH_BEFORE_INTENTS`).
    "flags" that are not an object are left for the reader to refuse."""
    version = version_of(value, SEARCH)
    body = without_stamp(value)
    if version < 2 and isinstance(body.get("flags"), dict):
        body["flags"] = {**SEARCH_BEFORE_INTENTS, **body["flags"]}
    return stamped(SEARCH, body)


SEARCH = FileFormat("slot-rnn-search", 2, migrate_search)
