"""How every command of the project fails: one error hierarchy, one line, one exit code.

    class DatasetError(UsageError): ...              # bad input exits 2 (data.readers)
    class TrainingDiverged(RunFailed): ...           # a run that failed on its own exits 1 (recipes.config.errors)

    @command("python -m recipes.predict")
    def main(argv=None):
        args = Parser(prog="python -m recipes.predict").parse_args(argv)   # a bad flag raises UsageError
        ...

`command` (or `run_command`, for a body that is not the whole `main`) runs a
command's main and turns a `CommandError` into `<prog>: error: <message>` on
one line of standard error and the exit status its class names: 2 for bad
input (`UsageError`: a flag, a path, a file), 1 for a run that failed on its
own (`RunFailed`). Errors are told apart by their class, never by their text.
Every command line uses it: the recipes, `recipes.tune`, `predict`, `serve`,
`export`, `lecture`, `python -m data` and the benchmarks. This module sits in
`data`, the package every other one may import.
"""

from __future__ import annotations

import argparse
import functools
import sys


class CommandError(Exception):
    """An error a command reports on one line; `exit_code` is the status it exits with, and
    `prog`, when set, the command line it names (a subcommand's parser sets its own)."""

    exit_code = 1
    prog = None


class UsageError(CommandError):
    """Bad input: a flag, a path, a damaged file. Exit status 2."""

    exit_code = 2


class RunFailed(CommandError):
    """A run that failed on its own (a diverged loss, a search or an export that could not finish). Exit status 1."""

    exit_code = 1


def one_line(error) -> str:
    """The first line of the message of `error` (an exception or a text), white space folded;
    the exception's type name when it has no message. Messages of this project are one line;
    a library's may run to many, of which the first says what went wrong."""
    lines = [line for line in str(error).splitlines() if line.strip()]
    if lines:
        return " ".join(lines[0].split())
    return type(error).__name__ if isinstance(error, BaseException) else ""


class Parser(argparse.ArgumentParser):
    """argparse whose errors raise `UsageError` (`argument --units: expected ...`) instead of exiting.

    `usage_in_errors=True` ends the message with the command's usage,
    `(usage: prog [-h] COMMAND ...)`: for commands with subcommands, where the
    message alone does not say what was expected.
    """

    def __init__(self, *args, usage_in_errors=False, **kwargs):
        super().__init__(*args, **kwargs)
        self.usage_in_errors = usage_in_errors

    def error(self, message):
        if self.usage_in_errors:
            message = f"{message} ({' '.join(self.format_usage().split())})"
        error = UsageError(message)
        error.prog = self.prog
        raise error


def run_command(prog, body, *args, usage_errors=(), interrupted=None):
    """Runs `body(*args)` as the command `prog` and returns what it returns.

    A `CommandError` prints `prog: error: <one line>` on standard error and
    exits with its class's `exit_code`; the exception classes in `usage_errors`
    (those a command counts as bad input, such as `OSError` for a download)
    the same, with status 2. With `interrupted` (a function returning a hint),
    Ctrl-C prints `prog: interrupted; <hint>` and exits 130.
    """
    try:
        return body(*args)
    except CommandError as error:
        code = error.exit_code
        message = error
        prog = error.prog or prog
    except usage_errors as error:
        code = UsageError.exit_code
        message = error
    except KeyboardInterrupt:
        if interrupted is None:
            raise
        print(f"\n{prog}: interrupted; {interrupted()}", file=sys.stderr)
        raise SystemExit(130) from None
    print(f"{prog}: error: {one_line(message)}", file=sys.stderr)
    raise SystemExit(code)


def command(prog, usage_errors=(), interrupted=None):
    """Makes `main(argv=None)` a command: it runs through `run_command`."""

    def decorate(main):
        @functools.wraps(main)
        def run(argv=None):
            return run_command(prog, main, argv, usage_errors=usage_errors, interrupted=interrupted)

        return run

    return decorate
