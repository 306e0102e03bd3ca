"""Result tables: Markdown for people, CSV for programs, both written whole or not at all.

A table is a list of columns and a list of rows (dicts keyed by column name):

    columns = [Column("cell", "cell", align_right=False), Column("words_per_second", "words/s", "{:,.0f}")]
    rows = [{"cell": "lstm", "words_per_second": 36123.4}]
    save_table("benchmarks/results/train_speed_jax", "Training speed", columns, rows, notes=[...])

writes `train_speed_jax.csv` (raw values) and `train_speed_jax.md` (a title,
the notes as bullet points, and a Markdown table of the formatted values) and
returns the Markdown text. The tuner's `results.md` and every benchmark table
are written by this module.
"""

import csv
import dataclasses
import io
from pathlib import Path
from typing import Callable

from data.atomic import atomic_write_text


@dataclasses.dataclass
class Column:
    key: str  # name in the rows and the CSV header
    title: str  # header of the Markdown table
    format: str | Callable = "{}"  # how the Markdown table writes a value: a format string or a function
    align_right: bool = True
    in_markdown: bool = True  # False: in the CSV only

    def text(self, value):
        if value is None or (isinstance(value, str) and value == ""):
            return ""
        if isinstance(value, float) and value != value:  # NaN
            return "n/a"
        return self.format(value) if callable(self.format) else self.format.format(value)


def markdown_table(columns, rows):
    """A GitHub Markdown table; `|` inside a value is escaped."""
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


def save_table(stem, title, columns, rows, notes=()):
    """Writes `<stem>.csv` and `<stem>.md`; returns the Markdown text."""
    stem = Path(stem)
    parts = [f"# {title}", ""]
    if notes:
        parts.extend(f"- {note}" for note in notes)
        parts.append("")
    parts.append(markdown_table(columns, rows))
    markdown = "\n".join(parts) + "\n"
    atomic_write_text(stem.with_name(stem.name + ".csv"), csv_text(columns, rows))
    atomic_write_text(stem.with_name(stem.name + ".md"), markdown)
    return markdown
