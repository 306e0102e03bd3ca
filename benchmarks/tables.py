"""Result tables of the benchmarks: printed, and saved as `.csv` and `.md` side by side.

A table is a list of columns and a list of rows (dicts keyed by column name):

    columns = [Column("cell", "cell"), Column("words_per_second", "words/s", "{:,.0f}")]
    rows = [{"cell": "lstm", "words_per_second": 36123.4}]
    save_table("benchmarks/results/train_speed_jax", "Training speed", columns, rows, notes=[...])

writes `train_speed_jax.csv` (raw values) and `train_speed_jax.md` (a title,
the notes as bullet points, and a Markdown table with the formatted values),
each written whole or not at all, and returns the Markdown text.
"""

import csv
import dataclasses
import io
import os
import platform
import resource
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
RESULTS_DIR = REPO_ROOT / "benchmarks" / "results"


@dataclasses.dataclass
class Column:
    key: str  # name in the rows and the CSV header
    title: str  # header of the Markdown table
    format: str = "{}"  # how the Markdown table writes a value
    align_right: bool = True
    in_markdown: bool = True  # False: in the CSV only

    def text(self, value):
        if value is None or value == "":
            return ""
        if isinstance(value, float) and value != value:  # NaN
            return "n/a"
        return self.format.format(value)


def markdown_table(columns, rows):
    columns = [column for column in columns if column.in_markdown]
    header = "| " + " | ".join(column.title for column in columns) + " |"
    rule = "| " + " | ".join("---:" if column.align_right else "---" for column in columns) + " |"
    lines = [header, rule]
    for row in rows:
        cells = [column.text(row.get(column.key)).replace("|", "\\|") for column in columns]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def csv_text(columns, rows):
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow([column.key for column in columns])
    for row in rows:
        writer.writerow([_csv_value(row.get(column.key)) for column in columns])
    return buffer.getvalue()


def _csv_value(value):
    if isinstance(value, float):
        return f"{value:.6g}"
    return "" if value is None else value


def _atomic_write(path, text):
    path = Path(path)
    temporary = path.with_name(f".{path.name}.partial")
    temporary.write_text(text, encoding="utf-8")
    os.replace(temporary, path)


def output_stem(option, default_name):
    """The path stem the results go to: `--output`, or `benchmarks/results/<default_name>`.

    A trailing `.csv` or `.md` on `--output` is dropped; both files are written.
    """
    if option is None:
        return RESULTS_DIR / default_name
    path = Path(option)
    if path.suffix in (".csv", ".md"):
        path = path.with_suffix("")
    return path


def check_writable(stem):
    """Creates the results folder; returns an error message, or None when it can be written."""
    folder = Path(stem).parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe = folder / f".{Path(stem).name}.write-test"
        probe.write_text("")
        probe.unlink()
    except OSError as error:
        return f"--output {stem}: cannot write in {folder} ({error.strerror or error})"
    return None


def save_table(stem, title, columns, rows, notes=()):
    """Writes `<stem>.csv` and `<stem>.md`; returns the Markdown text."""
    stem = Path(stem)
    parts = [f"# {title}", ""]
    if notes:
        parts.extend(f"- {note}" for note in notes)
        parts.append("")
    parts.append(markdown_table(columns, rows))
    markdown = "\n".join(parts) + "\n"
    _atomic_write(stem.with_name(stem.name + ".csv"), csv_text(columns, rows))
    _atomic_write(stem.with_name(stem.name + ".md"), markdown)
    return markdown


def peak_memory_mib():
    """Peak resident memory of this process so far (`ru_maxrss`), in MiB."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    # Linux reports kibibytes, macOS bytes.
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def environment_line():
    """Backend, library versions and cores, for the notes of every table."""
    import keras

    backend = keras.backend.backend()
    versions = [f"keras {keras.__version__}"]
    if backend == "jax":
        import jax

        versions.append(f"jax {jax.__version__}")
    elif backend == "tensorflow":
        import tensorflow as tf

        versions.append(f"tensorflow {tf.__version__}")
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    load = f", load average {os.getloadavg()[0]:.1f} at the start" if hasattr(os, "getloadavg") else ""
    return (
        f"backend {backend} ({', '.join(versions)}), Python {platform.python_version()}, "
        f"{cores} CPU cores available{load}, {platform.machine()}"
    )
