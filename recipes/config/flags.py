"""The recipes' command line, made from the option declarations (`settings.py`) and parsed once into a `Settings`.

    settings = parse_settings(["--depth", "2"], "python -m recipes.lstm", "...", lstm.DEFAULTS)

A bad value is refused at once with one line naming the flag and the value
(`argument --units: expected a value in [1, 16384], got '0'`) and exit status 2.
`add_option` is also how the tuner's command line adds the options it takes
fixed (`recipes.search.command_line`).
"""

from __future__ import annotations

import argparse
import dataclasses

from data.command_line import Parser
from recipes.config.settings import GROUPS, OPTIONS, Settings, intent_weight_for, shared_defaults

GROUP_TITLES = {
    "data": "data",
    "model": "model (build_model's arguments)",
    "training": "training",
    "run": "run (where and how it runs; no result changes)",
    "search": "search",
}


def flag_of(name):
    """`"embedding_dim"` -> `"--embedding-dim"`."""
    return "--" + name.replace("_", "-")


def describe(docstring):
    """The `Description:` line of a recipe's tutobook header."""
    for line in (docstring or "").splitlines():
        if line.startswith("Description:"):
            return line.split(":", 1)[1].strip()
    return None


def add_option(container, name, declared, **extra):
    """Adds the flag of the declared option `name` to a parser or an argument group
    (`extra`: more of `add_argument`'s keywords, such as a `default`)."""
    details = {"help": declared.help, **extra}
    if declared.switch:
        details["action"] = "store_true"
    elif declared.boolean:
        details["action"] = argparse.BooleanOptionalAction
    else:
        if declared.parse is not None:
            details["type"] = declared.parse
        if declared.choices is not None:
            details["choices"] = declared.choices
        if declared.metavar is not None:
            details["metavar"] = declared.metavar
    container.add_argument(flag_of(name), **details)


def make_parser(prog, description, defaults=None):
    """Every option's flag, defaulting to `Settings` with `defaults` (a recipe's) over it."""
    unknown = set(defaults or {}) - set(OPTIONS)
    if unknown:
        raise ValueError(f"Received defaults for settings that do not exist: {sorted(unknown)}.")
    parser = Parser(prog=prog, description=description, formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    groups = {group: parser.add_argument_group(GROUP_TITLES[group]) for group in GROUPS if group != "search"}
    for name, declared in OPTIONS.items():
        add_option(groups[declared.group], name, declared)
    parser.set_defaults(**{**shared_defaults(), **(defaults or {})})
    return parser


def parse_settings(argv, prog, description, defaults=None) -> Settings:
    """The command line `argv` (None: `sys.argv[1:]`) as a `Settings`."""
    settings = Settings(**vars(make_parser(prog, description, defaults).parse_args(argv)))
    # The weight the run trains with, so that config.json and a resumed run hold the number itself.
    return dataclasses.replace(settings, intent_weight=intent_weight_for(settings.head, settings.intent_weight))
