"""The errors a run or a search reports, in the project's one hierarchy (`data.command_line`).

`UsageError` is bad input (a flag, a path, a damaged run folder; `data.DatasetError`,
a broken corpus, is one) and exits 2. `TrainingDiverged` (a NaN loss), `SearchFailed`
and `ExportFailed` are runs that failed on their own and exit 1. Each prints one
line: `python -m recipes.lstm: error: <message>`.
"""

from data.command_line import RunFailed, UsageError, one_line

__all__ = ["ExportFailed", "SearchFailed", "TrainingDiverged", "UsageError", "one_line"]


class TrainingDiverged(RunFailed):
    """The loss became NaN or infinite."""


class SearchFailed(RunFailed):
    """A search ran but could not finish."""


class ExportFailed(RunFailed):
    """The converter could not write the artifact of a model that loaded."""
