"""What every command line of the project shares: one-line errors and their exit codes.

    parser = Parser(prog="python -m recipes.lstm")     # a bad flag: one line, exit status 2
    with exit_on_errors("python -m recipes.lstm", {DatasetError: 2, TrainingDiverged: 1}):
        ...                                              # `python -m recipes.lstm: error: <one line>`

Every command prints its errors as `<prog>: error: <message>` on standard
error, the message folded onto one line, and exits with the status the error's
kind maps to (2 for bad input, 1 for a run that failed on its own).
"""

from __future__ import annotations

import argparse
import contextlib
import sys


def one_line(error) -> str:
    """The message of `error` on one line (its type's name when it has none)."""
    return " ".join(str(error).split()) or type(error).__name__


def fail(prog: str, message, code: int = 2):
    """Prints `prog: error: message` on standard error and exits with `code`."""
    print(f"{prog}: error: {one_line(message)}", file=sys.stderr)
    raise SystemExit(code)


class Parser(argparse.ArgumentParser):
    """argparse whose errors are one line, `prog: error: message`, with exit status 2.

    `usage_in_errors=True` ends the line with the command's usage,
    `(usage: prog [-h] COMMAND ...)`: for commands with subcommands, where the
    message alone does not say what was expected.
    """

    def __init__(self, *args, usage_in_errors=False, **kwargs):
        super().__init__(*args, **kwargs)
        self.usage_in_errors = usage_in_errors

    def error(self, message):
        if self.usage_in_errors:
            message = f"{message} ({' '.join(self.format_usage().split())})"
        self.exit(2, f"{self.prog}: error: {one_line(message)}\n")


@contextlib.contextmanager
def exit_on_errors(prog: str, codes: dict):
    """Turns the exceptions named in `codes` (`{kind: exit status}`) into one
    error line and that exit status; anything else propagates."""
    kinds = tuple(codes)
    try:
        yield
    except kinds as error:
        code = next(status for kind, status in codes.items() if isinstance(error, kind))
        fail(prog, error, code)
