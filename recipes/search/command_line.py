"""The command line of `python -m recipes.tune`, made from the option declarations, and this process's role.

    request = parse_search(argv)      # a `SearchRequest`: every trial's settings, the space, how the search runs
    request.settings.epochs           # what every trial trains with (a `Settings`)
    request.space["units"]            # (32, 512): the bounds of a searched option
    request.options.tuner             # "random"

The options the tuner takes (`settings.TUNER_OPTIONS`) are the recipes'
own declarations: one that is searched (`Option.search`) becomes its search
flags (`--min-depth`/`--max-depth`, `--heads`, `--bidirectional/--no-bidirectional`
left out to try both), the others a fixed flag with the recipes' meaning and
default. `SearchOptions` declares what only a search has. `search_flags` is
what `search.json` records, and `launcher_free` what a distributed search's
chief and workers are started with.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import re
from pathlib import Path

from data.command_line import Parser
from recipes.config import arguments
from recipes.config.errors import UsageError
from recipes.config.flags import add_option, flag_of
from recipes.config.settings import (
    INTENT_ONLY,
    MONITORS,
    OPTIONS,
    SEARCH_DEFINING,
    SEARCHED,
    SHARED,
    TUNER_OPTIONS,
    Settings,
    declared_options,
    option,
)

TUNERS = ("random", "bayesian", "hyperband")
OBJECTIVES = tuple(f"val_{monitor}" for monitor in MONITORS)  # a search maximises a dev score of each trial
CELL_NAMES = ("elman", "jordan", "lstm", "peephole_lstm", "gru")  # the recipes whose `build_model` a trial may use
DEFAULT_MAX_TRIALS = 20  # trials of a random or Bayesian search; hyperband counts its own
# Flags only the process that starts a distributed search acts on, with the number of values each
# takes: its chief and workers get every other flag of its command line (`launcher_free`).
LAUNCHER_FLAGS = {"--distributed": 0, "--workers": 1, "--overwrite": 0}


@dataclasses.dataclass(frozen=True)
class SearchOptions:
    """What only a search is told. Group "search": it defines the search (`search.json`); "run": it does not."""

    cells: tuple = option(
        CELL_NAMES, "recurrent cells to try, comma-separated", "search", parse=arguments.name_list("cell", CELL_NAMES)
    )
    tuner: str = option("random", "how keras-tuner picks the next trial", "search", choices=TUNERS)
    objective: str = option(
        OBJECTIVES[0],
        "the dev score the search maximises and each trial stops early on: slot F1, or frame accuracy (intent "
        "and every tag right; needs data with intents and the intent head)",
        "search",
        choices=OBJECTIVES,
    )
    executions_per_trial: int = option(
        1,
        "models trained per trial from fresh weights; the trial scores their mean",
        "search",
        parse=arguments.positive_int,
    )
    max_trials: int | None = option(
        None,
        f"trials in all, counting those of a resumed search (default: {DEFAULT_MAX_TRIALS}; hyperband decides "
        "its own number from --epochs)",
        "run",
        parse=arguments.positive_int,
    )
    directory: str = option("tuning", "folder of all searches", "run")
    project_name: str | None = option(
        None, "this search's folder inside --directory (default: the dataset's name)", "run"
    )
    overwrite: bool = option(False, "delete the search in that folder and start over", "run", switch=True)
    retrain: bool = option(True, "retrain the best configuration and save it as a run folder", "run")
    distributed: bool = option(
        False, "run a chief and --workers worker processes on this machine (127.0.0.1)", "run", switch=True
    )
    workers: int | None = option(
        None, "worker processes of --distributed (default: 2)", "run", parse=arguments.positive_int
    )
    # Set by --distributed for the chief it starts: serve trials, leave the tables to the parent.
    serve_only: bool = option(False, argparse.SUPPRESS, "run", switch=True)


SEARCH_OPTIONS = declared_options(SearchOptions)


@dataclasses.dataclass(frozen=True)
class SearchRequest:
    """One search: every trial's settings, the bounds of what it searches, and how it runs."""

    settings: Settings  # every trial's data, training and fixed model options (its monitor: --objective's)
    space: dict  # searched option -> (low, high), a list of values to choose from, or None / a fixed bool (boolean)
    options: SearchOptions


def space_flags(name):
    """The flags (their argparse names) that bound the searched option `name`."""
    search = OPTIONS[name].search
    if search.kind == "choices":
        return (search.plural,)
    if search.kind == "boolean":
        return (name,)
    return (f"min_{name}", f"max_{name}")


def add_space_flags(group, name):
    """The search flags of the searched option `name`, defaulting to its declared bounds."""
    declared = OPTIONS[name]
    search = declared.search
    noun = declared.help.split(" (")[0]
    if search.kind == "choices":
        group.add_argument(
            flag_of(search.plural),
            type=arguments.name_list(name, search.values),
            default=list(search.values),
            help=f"{search.plural} to try, comma-separated ({noun})",
        )
    elif search.kind == "boolean":
        group.add_argument(
            flag_of(name),
            action=argparse.BooleanOptionalAction,
            default=None,
            help=f"fix it: {noun} (left out: try both)",
        )
    else:
        # A log scale needs positive bounds; a range otherwise takes the option's own check.
        parse = arguments.positive_float if search.kind == "log" else declared.parse
        scale = {"log": ", sampled on a log scale", "doubling": ", doubling from the lowest"}.get(search.kind, "")
        for end, default in (("min", search.low), ("max", search.high)):
            group.add_argument(
                flag_of(f"{end}_{name}"),
                type=parse,
                default=default,
                help=f"{'lowest' if end == 'min' else 'highest'} {noun}{scale}",
            )


def make_parser(prog="python -m recipes.tune", description=None):
    """The tuner's flags: the search space, every trial's fixed options, the search's own."""
    parser = Parser(
        prog=prog, description=description, allow_abbrev=False, formatter_class=argparse.ArgumentDefaultsHelpFormatter
    )
    space = parser.add_argument_group("search space (each range is inclusive; equal ends fix the value)")
    fixed = parser.add_argument_group("data, model and training of every trial (fixed)")
    for name in TUNER_OPTIONS:
        if name in SEARCHED:
            add_space_flags(space, name)
        else:
            add_option(fixed, name, OPTIONS[name], default=getattr(SHARED, name))
    search = parser.add_argument_group("search")
    for field in dataclasses.fields(SearchOptions):
        default = list(field.default) if isinstance(field.default, tuple) else field.default
        add_option(search, field.name, SEARCH_OPTIONS[field.name], default=default)
    return parser


def parse_search(argv, prog="python -m recipes.tune", description=None):
    """`argv` as a `SearchRequest`; a bad flag, or flags that contradict each other, raise `UsageError`."""
    values = vars(make_parser(prog, description).parse_args(argv))
    options = SearchOptions(**{name: values[name] for name in SEARCH_OPTIONS})
    fixed = {name: values[name] for name in TUNER_OPTIONS if name not in SEARCHED}
    settings = dataclasses.replace(SHARED, **fixed, monitor=options.objective.removeprefix("val_"))
    space = {}
    for name in SEARCHED:
        flags = [values[flag] for flag in space_flags(name)]
        if OPTIONS[name].search.kind == "choices":
            space[name] = list(flags[0])
        else:
            space[name] = flags[0] if len(flags) == 1 else tuple(flags)
    return check_request(SearchRequest(settings, space, options))


def check_request(request):
    """Checks flags against each other and fills in what follows from them; `UsageError` otherwise."""
    space, options = request.space, request.options
    for name in SEARCHED:
        if len(space_flags(name)) == 2 and space[name][0] > space[name][1]:
            low, high = space_flags(name)
            raise UsageError(f"{flag_of(low)} {space[name][0]} is above {flag_of(high)} {space[name][1]}")
    if options.objective == "val_frame_accuracy" and not request.settings.intent:
        raise UsageError("--objective val_frame_accuracy: needs the intent head; leave out --no-intent")
    if options.tuner == "hyperband" and options.max_trials is not None:
        raise UsageError(
            f"--max-trials {options.max_trials}: hyperband decides the number of trials from --epochs; "
            "leave --max-trials out"
        )
    changes = {}
    if options.max_trials is None and options.tuner != "hyperband":
        changes["max_trials"] = DEFAULT_MAX_TRIALS
    if options.project_name is None:
        data = request.settings.data
        name = re.sub(r"[^A-Za-z0-9_.-]+", "_", Path(data).stem or str(data)).strip("._")
        changes["project_name"] = name or "search"
    elif not re.fullmatch(r"[A-Za-z0-9_][A-Za-z0-9_.-]*", options.project_name):
        raise UsageError(f"--project-name {options.project_name!r}: use letters, digits, '_', '-' and '.' only")
    if options.workers is not None and not options.distributed:
        raise UsageError(f"--workers {options.workers}: only with --distributed")
    if options.distributed:
        changes["workers"] = options.workers or 2
    return dataclasses.replace(request, options=dataclasses.replace(options, **changes))


def process_role(request):
    """This process's part of the search: `single`, `parent` (--distributed), or
    `chief` / `worker` when keras-tuner's environment variables say so; `UsageError`
    where they contradict the flags."""
    role = "single"
    if "KERASTUNER_ORACLE_IP" in os.environ:
        for name in ("KERASTUNER_ORACLE_PORT", "KERASTUNER_TUNER_ID"):
            if not os.environ.get(name):
                raise UsageError(f"KERASTUNER_ORACLE_IP is set but {name} is not (a distributed search needs both)")
        role = "chief" if "chief" in os.environ["KERASTUNER_TUNER_ID"] else "worker"
    options = request.options
    if options.distributed:
        if role != "single":
            raise UsageError(
                "--distributed starts its own chief and workers: unset KERASTUNER_ORACLE_IP, "
                "KERASTUNER_ORACLE_PORT and KERASTUNER_TUNER_ID"
            )
        return "parent"
    if options.serve_only and role != "chief":
        raise UsageError("--serve-only is for the chief that --distributed starts")
    if options.overwrite and role == "worker":
        raise UsageError(
            f"--overwrite: only the chief may start a search over, not worker {os.environ['KERASTUNER_TUNER_ID']}"
        )
    return role


def intent_only_flags():
    """The flags of the options that shape only the intent head (`search.json` records None for them
    in a search without one)."""
    return tuple(flag for name in INTENT_ONLY for flag in (space_flags(name) if name in SEARCHED else (name,)))


def search_flags(request):
    """What defines the search, as `search.json` records it: the flags of every option that can change a
    trial's result, searched or fixed, and the search's own (`SearchOptions` of group "search")."""
    flags = {}
    for name in SEARCH_DEFINING:
        if name in SEARCHED:
            bounds = request.space[name]
            names = space_flags(name)
            if OPTIONS[name].search.kind == "choices":
                flags[names[0]] = list(bounds)
            elif len(names) == 1:
                flags[names[0]] = bounds
            else:
                flags.update(zip(names, bounds))
        else:
            value = getattr(request.settings, name)
            flags[name] = list(value) if isinstance(value, tuple) else value
    for name, declared in SEARCH_OPTIONS.items():
        if declared.group == "search":
            value = getattr(request.options, name)
            flags[name] = list(value) if isinstance(value, tuple) else value
    if not request.settings.intent:  # no intent head (--no-intent, or data without intents)
        flags.update(dict.fromkeys(intent_only_flags()))
    return flags


def check_data(request, dataset):
    """The request for the loaded data: without intents in its training data, no intent head. Raises
    `UsageError` (before anything is written) where `--objective val_frame_accuracy` meets training or
    dev sentences without intents."""
    if request.options.objective == "val_frame_accuracy":
        for name in ("train", "dev"):
            if getattr(dataset, name).intents is None:
                raise UsageError(
                    f"--objective val_frame_accuracy: the {name} sentences of --data {request.settings.data} have no "
                    "intents; use --objective val_slot_f1"
                )
    if request.settings.intent and dataset.train.intents is None:
        return dataclasses.replace(request, settings=dataclasses.replace(request.settings, intent=False))
    return request


def launcher_free(argv):
    """`argv` without the launcher's own flags: what its chief and workers are started with."""
    kept, skip = [], 0
    for item in argv:
        if skip:
            skip -= 1
            continue
        name = item.split("=", 1)[0]
        if name in LAUNCHER_FLAGS:
            skip = LAUNCHER_FLAGS[name] if "=" not in item else 0
            continue
        kept.append(item)
    return kept
