"""The errors of a run, and how the command lines report them.

`UsageError` is bad input (a flag, a path, a damaged run folder) and exits 2;
`TrainingDiverged` (a NaN loss), `SearchFailed` and `ExportFailed` are runs that failed on their own and exit 1;
`data.DatasetError` (a broken corpus) exits 2 too. Each prints one line:
`python -m recipes.lstm: error: <message>`.
"""

import data


def first_line(error):
    """The first line of an error's message (its type's name when it has none)."""
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


class UsageError(Exception):
    """A bad flag or path; the command line prints it on one line and exits 2."""


class TrainingDiverged(RuntimeError):
    """The loss became NaN or infinite; the command line exits 1."""


class SearchFailed(Exception):
    """A search ran but could not finish; the command line exits 1."""


class ExportFailed(RuntimeError):
    """The converter could not write the artifact of a model that loaded; the command line exits 1."""


# The exit status of each error kind, for `data.command_line.exit_on_errors`.
EXIT_CODES = {UsageError: 2, data.DatasetError: 2, TrainingDiverged: 1, SearchFailed: 1, ExportFailed: 1}
