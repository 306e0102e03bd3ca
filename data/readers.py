"""Read, validate, split and write slot-filling datasets.

Formats read by `load_dataset`:

- a folder with `train/`, `dev/` (or `valid/`) and `test/`, each holding
  `seq.in` (space-separated words, one sentence a line), `seq.out` (one tag
  per word), optionally `label` (one intent a line) and optionally `context`
  (per word `-`, or the distance in words to the cue that decides its slot,
  as `python -m data write travel` writes it: `- - 3 -`);
- a column file (`.conll`, `.conllu`, `.bio`, `.iob`, `.txt`, ...): one word a
  line, a blank line between sentences, the word, tag, index and intent
  columns found by their content (see `data.columns`);
- a `.csv` or `.tsv` file with a header, one sentence a row: a `words` column
  (space-separated words), a `tags` column (space-separated tags), optionally
  an `intent` (or `label`) column and a `split` column (`train`, `dev` or
  `valid`, `test`); `columns="word=2,tag=3"` picks fields by number instead
  (see `data.delimited`).

Tags are BIO (`B-city`, `I-city`, `O`), IOB1 (a chunk may start with `I-`) or
BIOES: `S-city` and `E-city` are read as `B-city` and `I-city` (`to_bio`), so
that scoring and predicting only ever see BIO.

Windows line endings, a UTF-8 byte order mark, trailing spaces, blank lines at
the very end of a file and a missing final newline are accepted silently.
Everything else that is wrong raises `DatasetError` with one line naming the
file and the line: `train/seq.out line 12: 7 tags for 8 words`.

Only the standard library is used by the readers, so `python -m data describe`
starts fast (the CSV reader is `csv`, not pandas: pandas would read the words
`NA`, `null` or `nan` as missing values).
"""

from __future__ import annotations

import dataclasses
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from data._random import StableRandom
from data.atomic import replace_folder
from data.command_line import UsageError

SPLIT_NAMES = ("train", "dev", "test")
# CoNLL-2003 ships as eng.train, eng.testa and eng.testb.
COLUMN_SUFFIXES = (".conll", ".conllu", ".bio", ".iob", ".iob2", ".bioes", ".txt", ".train", ".testa", ".testb")
TABLE_SUFFIXES = (".csv", ".tsv")
TAG_PREFIXES = ("B-", "I-", "E-", "S-")
BIOES_TO_BIO = {"S-": "B-", "E-": "I-"}


# The `context` entry of a word whose slot no cue decides (written `-` in a `context` file).
NO_CONTEXT = -1


class DatasetError(UsageError, ValueError):
    """A dataset that cannot be read or used; the message is one line naming the file and line. Exit status 2."""


@dataclass
class Split:
    """Sentences of one split: words, their BIO tags and (optionally) one intent each.

    Tags stay the strings written in the data, also those that never occur in
    train: scoring needs the gold tags exactly as written. The one change made
    on reading is BIOES to BIO (`S-x` -> `B-x`, `E-x` -> `I-x`, see `to_bio`):
    `converted_tags` counts those tags (0 in a split made by `head` or `select`).

    `context`, when the data carries it, marks the words whose slot is decided
    by a cue elsewhere in the sentence ("arrive", "leave", "from", "to"): one
    entry per word, the distance in words from the word to its cue, or
    `NO_CONTEXT` (-1) for every other word. The built-in travel dataset has it.
    """

    words: list[list[str]]
    tags: list[list[str]]
    intents: list[str] | None = None
    context: list[list[int]] | None = None
    converted_tags: int = field(default=0, compare=False)

    def __post_init__(self):
        if len(self.words) != len(self.tags):
            raise DatasetError(f"{len(self.words)} word sequences but {len(self.tags)} tag sequences")
        if self.intents is not None and len(self.intents) != len(self.words):
            raise DatasetError(f"{len(self.words)} sentences but {len(self.intents)} intents")
        for number, (words, tags) in enumerate(zip(self.words, self.tags), start=1):
            if len(words) != len(tags):
                raise DatasetError(f"sentence {number}: {len(tags)} tags for {len(words)} words")
        if self.context is not None:
            if len(self.context) != len(self.words):
                raise DatasetError(f"{len(self.words)} sentences but {len(self.context)} context sequences")
            for number, (words, distances) in enumerate(zip(self.words, self.context), start=1):
                if len(distances) != len(words):
                    raise DatasetError(f"sentence {number}: {len(distances)} context entries for {len(words)} words")
                if any(distance != NO_CONTEXT and distance < 1 for distance in distances):
                    raise DatasetError(f"sentence {number}: a cue distance below 1 (use {NO_CONTEXT} for no cue)")

    def __len__(self) -> int:
        return len(self.words)

    def head(self, n: int) -> "Split":
        """The first `n` sentences."""
        if n < 0:
            raise ValueError(f"Received an invalid value for argument n, expected n >= 0, got {n}.")
        intents = None if self.intents is None else self.intents[:n]
        context = None if self.context is None else self.context[:n]
        return Split(words=self.words[:n], tags=self.tags[:n], intents=intents, context=context)

    def select(self, positions) -> "Split":
        """The sentences at `positions`, in that order."""
        positions = list(positions)
        intents = None if self.intents is None else [self.intents[p] for p in positions]
        context = None if self.context is None else [self.context[p] for p in positions]
        return Split(
            words=[self.words[p] for p in positions],
            tags=[self.tags[p] for p in positions],
            intents=intents,
            context=context,
        )


@dataclass
class Dataset:
    """A named dataset with its three splits, and notes on how it was read.

    `notes` are lines for people, such as `corpus.conllu: columns word=2,tag=4,intent=3 (found by content)`.
    """

    name: str
    train: Split
    dev: Split
    test: Split
    notes: list[str] = field(default_factory=list, compare=False)

    def splits(self) -> dict[str, Split]:
        return {"train": self.train, "dev": self.dev, "test": self.test}


# --------------------------------------------------------------------------- text


def read_text_lines(path: Path, display: str) -> list[str]:
    """The lines of a UTF-8 file, line endings removed, trailing blank lines dropped.

    Raises `DatasetError` for a missing or unreadable file, bytes that are not
    UTF-8, or a file with no text.
    """
    path = Path(path)
    if path.exists() and not path.is_file() and not path.is_dir():
        # a pipe or a device could block or never end: only regular files are read
        raise DatasetError(f"{display}: not a regular file")
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise DatasetError(f"{display}: no such file") from None
    except IsADirectoryError:
        raise DatasetError(f"{display}: is a folder, expected a file") from None
    except OSError as error:
        raise DatasetError(f"{display}: cannot read ({error.strerror or error})") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        line = raw.count(b"\n", 0, error.start) + 1
        column = error.start - (raw.rfind(b"\n", 0, error.start) + 1) + 1
        raise DatasetError(
            f"{display} line {line}: bytes that are not UTF-8 (0x{raw[error.start]:02x} at column {column})"
        ) from None
    text = text.removeprefix("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
    lines = text.split("\n")
    while lines and not lines[-1].strip():
        lines.pop()
    if not lines:
        raise DatasetError(f"{display} line 1: empty file")
    return lines


def quoted(text: str, limit: int = 40) -> str:
    """`text` quoted for a one-line message, cut after `limit` characters: `'B-cityyyyy…'`."""
    return repr(text if len(text) <= limit else text[:limit] + "…")


def is_tag(tag: str) -> bool:
    """`O`, or `B-`, `I-`, `E-` or `S-` followed by a slot name (BIO, IOB1 and BIOES tags)."""
    return tag == "O" or (tag[:2] in TAG_PREFIXES and len(tag) > 2)


def check_tag(tag: str, display: str, line: int, position: int) -> None:
    """A tag must be `O`, or `B-`, `I-`, `E-` or `S-` and a slot name (an `I-` with no `B-` before it is legal)."""
    if not is_tag(tag):
        raise DatasetError(
            f"{display} line {line}: tag {quoted(tag)} (word {position}) is not O, B-<slot> or I-<slot> (or E-, S-)"
        )


def to_bio(split: Split) -> Split:
    """`split` with its BIOES tags turned into BIO: `S-city` -> `B-city`, `E-city` -> `I-city`.

    `["B-city", "E-city", "O", "S-day"]` becomes `["B-city", "I-city", "O", "B-day"]`;
    `converted_tags` counts the tags changed (4 words, 2 here). A split without
    E- or S- tags is returned unchanged.
    """
    converted = 0
    tags = []
    for sentence in split.tags:
        bio = [BIOES_TO_BIO[tag[:2]] + tag[2:] if tag[:2] in BIOES_TO_BIO else tag for tag in sentence]
        converted += sum(old != new for old, new in zip(sentence, bio))
        tags.append(bio)
    if not converted:
        return split
    return dataclasses.replace(split, tags=tags, converted_tags=split.converted_tags + converted)


# --------------------------------------------------------------------------- folder layout


def check_line_counts(words_display: str, word_count: int, other_display: str, other_count: int) -> None:
    """`seq.out` (or `label`) must have one line per line of `seq.in`; the error names the first line that differs."""
    if other_count == word_count:
        return
    problem = "missing" if other_count < word_count else "one line too many"
    raise DatasetError(
        f"{other_display} line {min(word_count, other_count) + 1}: {problem} "
        f"({words_display} has {word_count} lines, {other_display} has {other_count})"
    )


def read_split_folder(folder: Path, display: str) -> Split:
    """One split folder: `seq.in`, `seq.out` and, when present, `label` and `context`."""
    if not folder.is_dir():
        raise DatasetError(f"{display}: no such folder")
    words_display, tags_display = f"{display}/seq.in", f"{display}/seq.out"
    word_lines = read_text_lines(folder / "seq.in", words_display)
    tag_lines = read_text_lines(folder / "seq.out", tags_display)
    check_line_counts(words_display, len(word_lines), tags_display, len(tag_lines))
    words, tags = [], []
    for number, (word_line, tag_line) in enumerate(zip(word_lines, tag_lines), start=1):
        sentence = word_line.split()
        sentence_tags = tag_line.split()
        if not sentence:
            raise DatasetError(f"{words_display} line {number}: empty line (every line holds one sentence)")
        if len(sentence_tags) != len(sentence):
            raise DatasetError(f"{tags_display} line {number}: {len(sentence_tags)} tags for {len(sentence)} words")
        for position, tag in enumerate(sentence_tags, start=1):
            check_tag(tag, tags_display, number, position)
        words.append(sentence)
        tags.append(sentence_tags)
    intents = None
    if (folder / "label").exists():
        label_display = f"{display}/label"
        label_lines = read_text_lines(folder / "label", label_display)
        check_line_counts(words_display, len(word_lines), label_display, len(label_lines))
        intents = []
        for number, line in enumerate(label_lines, start=1):
            if not line.strip():
                raise DatasetError(f"{label_display} line {number}: empty line (every line holds one intent)")
            intents.append(line.strip())
    context = None
    if (folder / "context").exists():
        context = read_context_file(folder / "context", f"{display}/context", words_display, words)
    return Split(words=words, tags=tags, intents=intents, context=context)


def read_context_file(path: Path, display: str, words_display: str, words: list[list[str]]) -> list[list[int]]:
    """A `context` file: per sentence a line, per word `-` (no cue decides its slot) or its cue distance (>= 1)."""
    lines = read_text_lines(path, display)
    check_line_counts(words_display, len(words), display, len(lines))
    context = []
    for number, (line, sentence) in enumerate(zip(lines, words), start=1):
        entries = line.split()
        if len(entries) != len(sentence):
            raise DatasetError(f"{display} line {number}: {len(entries)} entries for {len(sentence)} words")
        distances = []
        for position, entry in enumerate(entries, start=1):
            if entry == "-":
                distances.append(NO_CONTEXT)
            elif entry.isascii() and entry.isdigit() and int(entry) >= 1:
                distances.append(int(entry))
            else:
                raise DatasetError(
                    f"{display} line {number}: entry {entry!r} (word {position}) is not - or a cue distance >= 1"
                )
        context.append(distances)
    return context


def read_folder(folder: Path, *, seed: int = 0, dev_fraction: float = 0.1, name: str | None = None) -> Dataset:
    """A dataset folder: `train/` and `test/` are required; `dev/` (or `valid/`) is carved from train when absent."""
    folder = Path(folder)
    display = str(folder).rstrip("/") or "."
    if not folder.is_dir():
        raise DatasetError(f"{display}: no such folder")
    for required in ("train", "test"):
        if not (folder / required).is_dir():
            raise DatasetError(
                f"{display}/{required}: missing split (a dataset folder holds train/, test/ and "
                "optionally dev/ or valid/, each with seq.in and seq.out)"
            )
    train = read_split_folder(folder / "train", f"{display}/train")
    test = read_split_folder(folder / "test", f"{display}/test")
    dev_names = [candidate for candidate in ("dev", "valid") if (folder / candidate).is_dir()]
    if len(dev_names) == 2:
        raise DatasetError(f"{display}: both dev/ and valid/ are present, keep one")
    if dev_names:
        dev = read_split_folder(folder / dev_names[0], f"{display}/{dev_names[0]}")
    else:
        train, dev = carve(train, dev_fraction, seed=seed, display=f"{display}/train")
    return Dataset(name=name or folder.resolve().name, train=to_bio(train), dev=to_bio(dev), test=to_bio(test))


# --------------------------------------------------------------------------- splitting


def carve(split: Split, fraction: float, *, seed: int, display: str) -> tuple[Split, Split]:
    """Move a seeded random `fraction` of `split` (at least one sentence) into a second split.

    Both parts keep the original sentence order. The same seed always carves the
    same sentences (the shuffle uses only `random.Random.random`, stable across
    Python versions).
    """
    check_fraction(fraction)
    count = len(split)
    carved = max(1, round(count * fraction))
    if count - carved < 1:
        raise DatasetError(f"{display}: {count} sentence(s) are too few to carve a dev or test split from")
    order = StableRandom(f"carve:{seed}").permutation(count)
    chosen = sorted(order[:carved])
    chosen_set = set(chosen)
    kept = [position for position in range(count) if position not in chosen_set]
    return split.select(kept), split.select(chosen)


def check_fraction(fraction: float) -> None:
    if not 0.0 < fraction < 0.5:
        raise DatasetError(f"dev_fraction must be between 0 and 0.5 (exclusive), got {fraction}")


# --------------------------------------------------------------------------- writing


def write_dataset(dataset: Dataset, directory, *, overwrite: bool = False) -> None:
    """Write `dataset` in the folder layout (`train/`, `dev/`, `test/` with `seq.in`, `seq.out`, `label`).

    A split that carries `context` also gets a `context` file (see `read_context_file`).

    The folder is written under a temporary name beside `directory` and renamed
    into place at the end, so a failure leaves nothing half-written. An existing
    `directory` is an error unless it is an empty folder or `overwrite=True`.
    """
    directory = Path(directory)
    if directory.exists() and not overwrite and not (directory.is_dir() and not any(directory.iterdir())):
        raise DatasetError(f"{directory}: already exists (choose a new folder)")
    for split_name, split in dataset.splits().items():
        for number, (words, tags) in enumerate(zip(split.words, split.tags), start=1):
            if not words:
                raise DatasetError(f"{split_name} sentence {number}: no words")
            for token in (*words, *tags):
                if not token or token != "".join(token.split()):
                    raise DatasetError(f"{split_name} sentence {number}: {token!r} is empty or holds white space")
        for number, intent in enumerate(split.intents or [], start=1):
            if not intent or intent != "".join(intent.split()):
                raise DatasetError(f"{split_name} sentence {number}: intent {intent!r} is empty or holds white space")
    try:
        directory.parent.mkdir(parents=True, exist_ok=True)
        temporary = Path(tempfile.mkdtemp(prefix=f".{directory.name}-", dir=directory.parent))
    except OSError as error:
        raise DatasetError(f"{directory}: cannot write there ({error.strerror or error})") from None
    try:
        for split_name, split in dataset.splits().items():
            folder = temporary / split_name
            folder.mkdir()
            write_lines(folder / "seq.in", [" ".join(words) for words in split.words])
            write_lines(folder / "seq.out", [" ".join(tags) for tags in split.tags])
            if split.intents is not None:
                write_lines(folder / "label", split.intents)
            if split.context is not None:
                write_lines(folder / "context", [context_line(distances) for distances in split.context])
        replace_folder(temporary, directory)
    except BaseException:
        shutil.rmtree(temporary, ignore_errors=True)
        raise


def context_line(distances: list[int]) -> str:
    """One line of a `context` file: `- - 3 -`."""
    return " ".join("-" if distance == NO_CONTEXT else str(distance) for distance in distances)


def write_lines(path: Path, lines: list[str]) -> None:
    with open(path, "w", encoding="utf-8", newline="\n") as file:
        for line in lines:
            file.write(line + "\n")
