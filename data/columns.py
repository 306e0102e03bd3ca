"""Column files: one word a line, a blank line between sentences, columns found by their content.

A CoNLL-U-like sentence with its intent (an index, the word, the intent
repeated on every row, the tag):

    # text = Is it going to rain today?
    # intent = weather/find
    1	Is	weather/find	O
    ...
    6	today	weather/find	B-datetime

becomes `words[0] == ["Is", ..., "today"]`, `tags[0] == ["O", ..., "B-datetime"]`
and `intents[0] == "weather/find"`.

How the columns are found (every row of a file must have the same number of
columns for this; rows of different widths are read as word first, tag last):

- the tag column is the one whose every value is `O`, or `B-`, `I-`, `E-` or
  `S-` and a slot name; when several are (CoNLL-2003 chunk tags before the
  entity tags), the last column wins, unless the first column is one of them;
- an index column (integers counting up by one through each sentence) is skipped;
- a column that repeats one value through each whole sentence is the
  sentence's intent (when one sentence at least has two words to tell by);
- the word is the remaining text column, or the first of several when the tag
  is the last column (CoNLL-2003: word, part of speech, chunk, entity tag).

Anything else is ambiguous and raises `DatasetError` naming the file and line
and the option that settles it: `--columns word=2,tag=4,intent=3` on the
command line, `columns="word=2,tag=4,intent=3"` in `load_dataset` (columns
counted from 1; see `parse_columns`).

A line that begins with `#` before a sentence's first word is a comment
(`# text = ...`, `# sent_id = 3`); `# intent = X` or `# intent: X` gives the
sentence's intent. A `#` row inside a sentence, or a `#hashtag` word, is a
row like any other. `-DOCSTART-` lines are skipped.
"""

from __future__ import annotations

import contextlib
import gc
import re
from dataclasses import dataclass
from pathlib import Path

from data.readers import DatasetError, Split, check_tag, is_tag, quoted, read_text_lines

COLUMN_NAMES = ("word", "tag", "intent")
HOW_TO_CHOOSE = "choose with --columns word=N,tag=N[,intent=N] (columns counted from 1)"
INTENT_COMMENT = re.compile(r"#\s*intent\s*[=:](.*)", re.IGNORECASE | re.DOTALL)
COMMENT = re.compile(r"#(\s|$|[\w.-]+\s*[=:])")
PLACEHOLDERS = {"_", "-"}


@dataclass(frozen=True)
class ColumnSpec:
    """Which column holds what, counted from 1: `ColumnSpec(word=2, tag=4, intent=3)`."""

    word: int
    tag: int
    intent: int | None = None

    def __post_init__(self):
        numbers = [number for _, number in self.items()]
        if not all(isinstance(number, int) and number >= 1 for number in numbers) or len(set(numbers)) < len(numbers):
            raise DatasetError(f"columns {self!r}: expected different column numbers counted from 1")

    def __str__(self) -> str:
        return ",".join(f"{name}={number}" for name, number in self.items())

    def items(self) -> list[tuple[str, int]]:
        pairs = [("word", self.word), ("tag", self.tag), ("intent", self.intent)]
        return [(name, number) for name, number in pairs if number is not None]


def parse_columns(text) -> ColumnSpec | None:
    """`"word=2,tag=4,intent=3"` -> `ColumnSpec(word=2, tag=4, intent=3)`.

    Grammar: `name=number` pairs separated by commas; the names are `word`
    and `tag` (both required) and `intent` (optional); numbers count columns
    from 1 and must differ. Spaces around the parts are allowed. `None` stays
    `None`; a `ColumnSpec` is returned as it is. Anything else raises a one-line
    `DatasetError`: `columns 'word=2,tag=x': 'x' is not a column number ...`.
    """
    if text is None or isinstance(text, ColumnSpec):
        return text
    if not isinstance(text, str):
        raise DatasetError(f"columns {text!r}: expected a text such as 'word=2,tag=4,intent=3'")
    shown = quoted(" ".join(text.split()), 60)

    def fail(problem):
        raise DatasetError(f"columns {shown}: {problem} (expected word=N,tag=N[,intent=N], N counted from 1)")

    numbers: dict[str, int] = {}
    for part in text.split(","):
        name, equals, value = (piece.strip() for piece in part.partition("="))
        name = name.lower()
        if not equals:
            fail(f"{quoted(part.strip())} is not name=number")
        if name not in COLUMN_NAMES:
            fail(f"unknown column name {quoted(name)}")
        if name in numbers:
            fail(f"{name} is given twice")
        if not (value.isascii() and value.isdigit() and int(value) >= 1):
            fail(f"{quoted(value)} is not a column number")
        numbers[name] = int(value)
    for required in ("word", "tag"):
        if required not in numbers:
            fail(f"no {required}= column")
    if len(set(numbers.values())) < len(numbers):
        fail("two names share one column")
    return ColumnSpec(**numbers)


@dataclass
class Sentence:
    """The rows of one sentence (line number, columns) and its `# intent` comment (line number, value)."""

    rows: list[tuple[int, tuple[str, ...]]]
    intent_comment: tuple[int, str] | None = None


def read_column_file(path: Path, display: str, columns=None) -> tuple[Split, ColumnSpec | None]:
    """One column file as a `Split`, and the columns it was read with (`None`: word first, tag last).

    `columns` (a `ColumnSpec` or its text) replaces the detection.
    """
    spec = parse_columns(columns)
    with collector_paused():
        return read_rows(read_text_lines(path, display), display, spec)


@contextlib.contextmanager
def collector_paused():
    """Reading builds hundreds of thousands of small tuples and lists, and no reference cycles: Python's
    cycle collector, run over them again and again as they pile up, would take longer than the reading."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def read_rows(lines: list[str], display: str, spec: ColumnSpec | None) -> tuple[Split, ColumnSpec | None]:
    sentences = read_sentences(lines, display)
    if spec is None:
        spec = detect_columns(sentences, display)
    widest = 0 if spec is None else max(column for _, column in spec.items())
    all_words, all_tags, intents = [], [], []
    for sentence in sentences:
        words, tags = [], []
        for position, (number, fields) in enumerate(sentence.rows, start=1):
            if spec is None:
                word, tag = fields[0], fields[-1]
            elif len(fields) < widest:
                raise DatasetError(
                    f"{display} line {number}: {len(fields)} columns, but columns {spec} names column {widest}"
                )
            else:
                word, tag = fields[spec.word - 1], fields[spec.tag - 1]
            check_tag(tag, display, number, position)
            words.append(word)
            tags.append(tag)
        all_words.append(words)
        all_tags.append(tags)
        intents.append(sentence_intent(sentence, spec, display))
    given = [intent is not None for intent in intents]
    if any(given) and not all(given):
        first = sentences[given.index(False)].rows[0][0]
        raise DatasetError(f"{display} line {first}: a sentence without an intent, though others have one")
    return Split(words=all_words, tags=all_tags, intents=intents if any(given) else None), spec


def read_sentences(lines: list[str], display: str) -> list[Sentence]:
    """Rows grouped into sentences at blank lines; comments read, `-DOCSTART-` lines skipped."""
    sentences: list[Sentence] = []
    current = Sentence(rows=[])
    for number, line in enumerate(lines, start=1):
        fields = tuple(line.split())
        if not fields:
            # Comments belong to the sentence right below them: a blank line drops those of an empty one.
            if current.rows:
                sentences.append(current)
            current = Sentence(rows=[])
            continue
        if not current.rows and COMMENT.match(line.strip()):
            match = INTENT_COMMENT.match(line.strip())
            if match:
                intent = match.group(1).strip()
                if not intent:
                    raise DatasetError(f"{display} line {number}: '# intent' without a value")
                if current.intent_comment is not None:
                    raise DatasetError(
                        f"{display} line {number}: a second '# intent' for one sentence "
                        f"(the first is on line {current.intent_comment[0]})"
                    )
                current.intent_comment = (number, intent)
            continue
        if fields[0] == "-DOCSTART-" or fields[-1] == "-DOCSTART-":
            continue
        if len(fields) < 2:
            raise DatasetError(
                f"{display} line {number}: 1 column, expected a word and its tag separated by a space or a tab"
            )
        current.rows.append((number, fields))
    if current.rows:
        sentences.append(current)
    if not sentences:
        raise DatasetError(f"{display} line 1: no sentences")
    return sentences


def sentence_intent(sentence: Sentence, spec: ColumnSpec | None, display: str) -> str | None:
    """The intent of a sentence from its intent column and its `# intent` comment, which must agree."""
    from_column = None
    if spec is not None and spec.intent is not None:
        first_line, first_fields = sentence.rows[0]
        from_column = first_fields[spec.intent - 1]
        for number, fields in sentence.rows[1:]:
            if fields[spec.intent - 1] != from_column:
                raise DatasetError(
                    f"{display} line {number}: intent {quoted(fields[spec.intent - 1])} differs from {quoted(from_column)} "
                    f"on line {first_line} (column {spec.intent} holds one intent for the whole sentence)"
                )
    if sentence.intent_comment is None:
        return from_column
    number, from_comment = sentence.intent_comment
    if from_column is not None and from_column != from_comment:
        raise DatasetError(
            f"{display} line {number}: '# intent' says {quoted(from_comment)} but column {spec.intent} says "
            f"{quoted(from_column)}; {HOW_TO_CHOOSE}"
        )
    return from_comment


def detect_columns(sentences: list[Sentence], display: str) -> ColumnSpec | None:
    """The word, tag and intent columns of a file whose rows all have the same width (see the module docstring)."""
    rows = [row for sentence in sentences for row in sentence.rows]
    first_line = rows[0][0]
    widths = {len(fields) for _, fields in rows}
    if len(widths) > 1:
        return None  # rows of different widths: word first, tag last, as CoNLL readers always took them
    width = widths.pop()

    def ambiguous(problem):
        raise DatasetError(f"{display} line {first_line}: {problem}; {HOW_TO_CHOOSE}")

    tag_like = [c for c in range(width) if all(is_tag(fields[c]) for _, fields in rows)]
    if not tag_like:
        # No column holds only tags: report the first bad value of the most tag-like column.
        best = max(range(width), key=lambda c: (sum(is_tag(fields[c]) for _, fields in rows), c))
        for sentence in sentences:
            for position, (number, fields) in enumerate(sentence.rows, start=1):
                check_tag(fields[best], display, number, position)
    if len(tag_like) == 1 or (tag_like[-1] == width - 1 and tag_like[0] != 0):
        tag = tag_like[-1]
    else:
        ambiguous(f"columns {listed(tag_like)} could each be the tag column")
    others = [c for c in range(width) if c not in tag_like]
    index = [c for c in others if is_index_column(sentences, c)]
    evidence = any(len(sentence.rows) > 1 for sentence in sentences)
    constant = [
        c for c in others if c not in index and evidence and all(len({f[c] for _, f in s.rows}) == 1 for s in sentences)
    ]
    candidates = (
        [c for c in others if c not in index and c not in constant] or [c for c in others if c not in index] or index
    )
    first_text = next((c for c in others if c not in index), None)
    if len(candidates) == 1 or (tag == width - 1 and candidates[0] == first_text):
        word = candidates[0]
    else:
        ambiguous(f"columns {listed(candidates)} could each be the word column")
    intents = [c for c in constant if c != word and not all(fields[c] in PLACEHOLDERS for _, fields in rows)]
    if len(intents) > 1:
        ambiguous(f"columns {listed(intents)} could each be the intent column")
    return ColumnSpec(word=word + 1, tag=tag + 1, intent=intents[0] + 1 if intents else None)


def listed(columns: list[int]) -> str:
    """Column numbers for a message, from 0-based positions: `1 and 2`, `1, 2 and 3`, `1, 2, 3 and 7 more`."""
    numbers = [str(c + 1) for c in columns]
    if len(numbers) > 4:
        return f"{', '.join(numbers[:3])} and {len(numbers) - 3} more"
    return " and ".join(numbers) if len(numbers) < 3 else f"{', '.join(numbers[:-1])} and {numbers[-1]}"


def is_index_column(sentences: list[Sentence], column: int) -> bool:
    """Whole numbers counting up by one through each sentence (`1, 2, 3`, or from 0, or running on)."""
    for sentence in sentences:
        values = [fields[column] for _, fields in sentence.rows]
        if not all(value.isascii() and value.isdigit() for value in values):
            return False
        numbers = [int(value) for value in values]
        if any(after != before + 1 for before, after in zip(numbers, numbers[1:])):
            return False
    return True
