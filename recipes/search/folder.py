"""The search folder: `<directory>/<project-name>/`, checked before a search starts or resumes.

search.json          {"format": "slot-rnn-search", "version": 2, "flags": {"data": "...", "tuner":
                     "random", ...}}: the flags that define the search; a rerun with other ones is
                     refused with one line. One of an earlier version (`recipes.config.formats`)
                     is read through its migration and rewritten at the current version.
oracle.json, trial_*/ keras-tuner's own state, which it rewrites in place
last_good/           a copy of that state taken after every finished trial (`save_last_good`),
                     restored on the next run where a file no longer parses (`restore_last_good`)
results.csv, results.md, search.png, best_trial_<id>/   (`results.py`, `tuners.py`)
"""

import json
import shutil
import tempfile
from pathlib import Path

from data.atomic import atomic_write_bytes, atomic_write_text
from data.sources import BUILT_IN, DOWNLOADABLE
from recipes.config.errors import UsageError
from recipes.config.flags import flag_of
from recipes.config.formats import SEARCH, UNVERSIONED, VERSION_KEY, read_json_object, stamped, upgrade
from recipes.config.settings import OPTIONS
from recipes.search.command_line import intent_only_flags, search_flags

# The flags that shape only the intent head: not part of a search without one (recorded as None).
INTENT_ONLY = intent_only_flags()


def search_settings(request):
    """The flags that define the search `request` (`command_line.search_flags`), as stored in `search.json`."""
    settings = search_flags(request)
    data = request.settings.data
    path = Path(str(data)).expanduser()
    if data not in BUILT_IN + DOWNLOADABLE and path.exists():
        settings["data"] = str(path.resolve())  # the same folder, however it is written
    return settings


def flag_text(name, value):
    """How the command line says that `search.json`'s flag `name` has `value`."""
    flag = flag_of(name)
    declared = OPTIONS.get(name)
    if declared is not None and declared.boolean:
        if value is None and declared.search is not None:
            return f"{flag} and --no-{flag[2:]} both"  # a yes/no option left to the search
        return {True: flag, False: f"--no-{flag[2:]}"}.get(value, f"no {flag}")
    if value is None:
        return f"no {flag}"
    if isinstance(value, list):
        value = ",".join(str(item) for item in value)
    return f"{flag} {value}"


def prepare_project(request, role):
    """Creates (or, with --overwrite, recreates) the search folder and checks
    that a search already there was made with the same search flags."""
    args = request.options
    directory = Path(args.directory)
    if directory.exists() and not directory.is_dir():
        raise UsageError(f"--directory {args.directory}: exists and is not a folder")
    project_dir = directory / args.project_name
    if project_dir.exists() and not project_dir.is_dir():
        raise UsageError(f"--project-name {args.project_name}: {project_dir} exists and is not a folder")
    if args.overwrite and project_dir.exists():
        shutil.rmtree(project_dir)
    try:
        project_dir.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=project_dir):
            pass
    except OSError as error:
        raise UsageError(f"--directory {args.directory}: cannot write there ({error.strerror or error})")
    current = search_settings(request)
    path = project_dir / "search.json"
    if path.is_file():
        saved, written_in = read_search_file(path)
        changed = [name for name in current if saved.get(name, "(not recorded)") != current[name]]
        if "intent" in changed:  # the flags of the intent head follow from it
            changed = [name for name in changed if name not in INTENT_ONLY]
        if changed:
            before = " and ".join(flag_text(name, saved.get(name)) for name in changed)
            now = " and ".join(flag_text(name, current[name]) for name in changed)
            raise UsageError(
                f"{project_dir} holds a search made with {before}, not {now}: repeat its flags to resume it, "
                "or use --overwrite or another --project-name"
            )
        if role != "worker" and written_in < SEARCH.version:
            write_search_file(path, saved)  # the same flags, at the current version
    elif role != "worker":
        write_search_file(path, current)
    if role != "worker":
        restore_last_good(project_dir)
    return project_dir


def read_search_file(path):
    """The flags of `search.json` at the current version, and the version it was written
    in; `UsageError` in one line when it is damaged or of a newer version than this code's."""
    unreadable = UsageError(f"{path}: unreadable; use --overwrite or another --project-name")
    try:
        value = read_json_object(path)
    except UsageError:
        raise unreadable from None
    flags = upgrade(value, SEARCH, path).get("flags")  # a newer version or another format: refused
    if not isinstance(flags, dict):
        raise unreadable
    return flags, value.get(VERSION_KEY, UNVERSIONED)


def write_search_file(path, flags):
    """`search.json` holding `flags`, at the current version."""
    atomic_write_text(path, json.dumps(stamped(SEARCH, {"flags": flags}), indent=2) + "\n")


LAST_GOOD = "last_good"


def tuner_state_files(project_dir):
    """keras-tuner's own files in a search folder (relative paths): `oracle.json`,
    the tuner files (`tuner0.json`, `chief.json`) and every `trial_*/trial.json`."""
    project_dir = Path(project_dir)
    names = [path.name for path in project_dir.glob("*.json") if path.name != "search.json"]
    names += [f"{path.parent.name}/{path.name}" for path in project_dir.glob("trial_*/trial.json")]
    return sorted(names)


def _parses(payload):
    try:
        json.loads(payload.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return False
    return True


def save_last_good(project_dir):
    """Copies every state file of keras-tuner's that parses into `last_good/`.

    keras-tuner rewrites `oracle.json` and `trial.json` in place, so a search
    killed at that very moment would leave a file that no longer parses; this
    copy, taken after every finished trial, is what `restore_last_good` puts back.
    A file caught half-written by another process is skipped: its older copy stays.
    """
    project_dir = Path(project_dir)
    for name in tuner_state_files(project_dir):
        try:
            payload = (project_dir / name).read_bytes()
        except OSError:
            continue
        if _parses(payload):
            target = project_dir / LAST_GOOD / name
            target.parent.mkdir(parents=True, exist_ok=True)
            atomic_write_bytes(target, payload)


def restore_last_good(project_dir):
    """Puts back the last good copy of every state file that no longer parses,
    printing one line for each; `UsageError` when a damaged file has no copy."""
    project_dir = Path(project_dir)
    for name in tuner_state_files(project_dir):
        path = project_dir / name
        if _parses(path.read_bytes()):
            continue
        backup = project_dir / LAST_GOOD / name
        if not backup.is_file():
            raise UsageError(
                f"{path}: not valid JSON and no copy of it in {project_dir / LAST_GOOD}; "
                "use --overwrite or another --project-name"
            )
        atomic_write_bytes(path, backup.read_bytes())
        print(
            f"{path}: not valid JSON (a search stopped while writing it); restored the copy saved after "
            "the last finished trial"
        )
