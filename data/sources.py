"""`load_dataset`: one entry point for every dataset source."""

from __future__ import annotations

import re
from pathlib import Path

from data.columns import ColumnSpec, parse_columns, read_column_file
from data.delimited import read_table_file
from data.download import DIGESTS, default_cache_dir
from data.readers import (
    COLUMN_SUFFIXES,
    TABLE_SUFFIXES,
    Dataset,
    DatasetError,
    carve,
    check_fraction,
    read_folder,
    to_bio,
)
from data.travel import generate_travel

BUILT_IN = ("travel",)
DOWNLOADABLE = tuple(DIGESTS)
# A word of a file name (or its end: engtrain.bio) that names the split it holds, tried in this order.
SPLIT_FILE_WORDS = (
    ("dev", ("testa", "dev", "valid", "validation")),
    ("test", ("testb", "test")),
    ("train", ("train",)),
)


def load_dataset(
    source: str, *, seed: int = 0, dev_fraction: float = 0.1, columns: str | ColumnSpec | None = None
) -> Dataset:
    """Load a dataset by name, folder or file.

    Args:
        source: one of
            - "travel": the built-in generated dataset (`generate_travel(seed)`);
            - "atis" or "snips": read from the download cache
              (`$SLOT_RNN_DATA/<name>` or `~/.cache/slot-rnn/<name>`); run
              `python -m data download atis` first;
            - a folder with `train/`, `test/` and optionally `dev/` or `valid/`
              (`seq.in`, `seq.out`, optional `label` in each);
            - a folder of one column (or CSV/TSV) file per split, named for it:
              `train.txt`, `valid.txt`, `test.txt`; `eng.train`, `eng.testa`,
              `eng.testb`; `engtrain.bio`, `engtest.bio` (see `split_files`);
            - a column file (`.conll`, `.conllu`, `.bio`, `.iob`, `.txt`, ...; see
              `data.columns`), or a `.csv`/`.tsv` file with `words` and `tags`
              columns (see `data.readers`).
            These names win over a folder of the same name in the current
            directory: write `./atis` to read such a folder.
        seed: seeds the travel generator and every carved split.
        dev_fraction: share of sentences carved out where a split is missing
            (0 < dev_fraction < 0.5).
        columns: for a column file, which column holds the word, the tag and
            (optionally) the intent, counted from 1, instead of finding them by
            content: `"word=2,tag=4,intent=3"` or `ColumnSpec(word=2, tag=4, intent=3)`.
            For a CSV/TSV file, the fields to read instead of those named
            `words`, `tags` and `intent`. A folder of split files applies them
            to each file. A `seq.in`/`seq.out` folder or a dataset name has no
            columns to choose: giving them is an error.

    Carved splits:
        - a folder without `dev/` (or without a dev file): a seeded `dev_fraction` of train becomes dev;
        - a single file without a `split` column: a seeded `dev_fraction` becomes
          test, another `dev_fraction` dev, the rest train (80/10/10 by default);
        - a CSV/TSV with a `split` column but no dev (or no test) rows: carved from train.
        A folder without `test/` is an error, not carved: a test split is a
        published benchmark and a silently invented one would not compare.

    BIOES tags (`S-x`, `E-x`) are read as BIO (`B-x`, `I-x`); each split's
    `converted_tags` counts them.

    Raises:
        DatasetError: with one line naming the file and the line at fault.
    """
    check_fraction(dev_fraction)
    columns = parse_columns(columns)
    source = str(source)
    if source == "travel" or source in DOWNLOADABLE:
        refuse_columns(columns, f"{source}: a dataset by name")
    if source == "travel":
        return generate_travel(seed=seed)
    if source in DOWNLOADABLE:
        folder = default_cache_dir() / source
        if not (folder / "train" / "seq.in").is_file():
            raise DatasetError(
                f"dataset {source!r} is not downloaded yet (looked in {folder}): run `python -m data download {source}`"
            )
        return read_folder(folder, seed=seed, dev_fraction=dev_fraction, name=source)
    path = Path(source).expanduser()
    if path.is_dir():
        files = split_files(path)
        if files:
            return read_split_files(path, files, seed=seed, dev_fraction=dev_fraction, columns=columns)
        refuse_columns(columns, f"{str(path).rstrip('/') or '.'}: a dataset folder")
        return read_folder(path, seed=seed, dev_fraction=dev_fraction)
    if path.is_file():
        return read_file(path, seed=seed, dev_fraction=dev_fraction, columns=columns)
    raise DatasetError(
        f"{source}: no such dataset (expected {', '.join(BUILT_IN + DOWNLOADABLE)}, "
        "a dataset folder, or a .conll, .bio, .iob, .txt, .csv or .tsv file)"
    )


def split_files(folder: Path) -> dict[str, list[Path]]:
    """The column, CSV and TSV files of a folder without `train/` or `test/` folders, by the split their name says.

    `train.txt`, `valid.txt`, `test.txt`; `eng.train`, `eng.testa` (dev), `eng.testb` (test);
    `engtrain.bio`, `engtest.bio`. Files whose names say no split (`README.txt`) are left out.
    """
    if (folder / "train").is_dir() or (folder / "test").is_dir():
        return {}
    found: dict[str, list[Path]] = {}
    for path in sorted(folder.iterdir()):
        if path.name.startswith(".") or path.suffix.lower() not in COLUMN_SUFFIXES + TABLE_SUFFIXES:
            continue
        words = re.split(r"[^a-z]+", path.name.lower())
        for split_name, names in SPLIT_FILE_WORDS:
            if any(word.endswith(name) for word in words for name in names):
                found.setdefault(split_name, []).append(path)
                break
    return found


def read_split_files(
    folder: Path, files: dict[str, list[Path]], *, seed: int, dev_fraction: float, columns=None
) -> Dataset:
    """A folder of one file per split (see `split_files`); dev is carved from train when no file holds it."""
    display = str(folder).rstrip("/") or "."
    for split_name, paths in files.items():
        if len(paths) > 1:
            raise DatasetError(
                f"{display}: {' and '.join(path.name for path in paths)} could each be the {split_name} split; "
                "keep one of them in the folder, or give one file as the source"
            )
    for required in ("train", "test"):
        if required not in files:
            named = ", ".join(f"{paths[0].name} ({name})" for name, paths in files.items())
            raise DatasetError(f"{display}: no {required} file among the split files ({named})")
    splits, displays, notes = {}, {}, []
    for split_name, (path, *_) in files.items():
        file_display = displays[split_name] = f"{display}/{path.name}"
        if path.suffix.lower() in TABLE_SUFFIXES:
            parts = read_table_file(path, file_display, columns)
            if set(parts) != {"all"}:
                raise DatasetError(f"{file_display}: has a split column; give this file alone as the source")
            splits[split_name] = parts["all"]
        else:
            splits[split_name], used = read_column_file(path, file_display, columns)
            notes.append(column_note(file_display, used, columns))
    if "dev" not in splits:
        splits["train"], splits["dev"] = carve(splits["train"], dev_fraction, seed=seed, display=displays["train"])
    return Dataset(
        name=folder.resolve().name,
        train=to_bio(splits["train"]),
        dev=to_bio(splits["dev"]),
        test=to_bio(splits["test"]),
        notes=notes,
    )


def column_note(display: str, used, columns) -> str:
    """`corpus.conll: columns word=2,tag=4,intent=3 (found by content)`, for `describe`."""
    if used is None:
        return f"{display}: rows of different widths, word from the first column and tag from the last"
    return f"{display}: columns {used} ({'as given' if columns else 'found by content'})"


def refuse_columns(columns: ColumnSpec | None, what: str) -> None:
    if columns is not None:
        raise DatasetError(f"{what} has no columns to choose (columns {columns} applies to column, CSV and TSV files)")


def read_file(path: Path, *, seed: int = 0, dev_fraction: float = 0.1, columns=None) -> Dataset:
    """A single column, CSV or TSV file.

    A file without a `split` column holds the whole corpus: a seeded
    `dev_fraction` of its sentences becomes the test split, another
    `dev_fraction` the dev split, the rest train (80/10/10 by default). A CSV or
    TSV with a `split` column keeps its own splits and carves only the missing
    dev (from train) or test (from train, after dev). The splits are carved
    first and their BIOES tags turned into BIO after, so that each split counts
    its own `converted_tags`.
    """
    path = Path(path)
    display = str(path)
    check_fraction(dev_fraction)
    columns = parse_columns(columns)
    suffix = path.suffix.lower()
    notes = []
    if suffix in COLUMN_SUFFIXES:
        split, used = read_column_file(path, display, columns)
        parts = {"all": split}
        notes.append(column_note(display, used, columns))
    elif suffix in TABLE_SUFFIXES:
        parts = read_table_file(path, display, columns)
    else:
        raise DatasetError(
            f"{display}: unknown file type {suffix or '(no suffix)'!r}, expected a folder or a "
            f"{', '.join(COLUMN_SUFFIXES + TABLE_SUFFIXES)} file"
        )
    if "all" in parts:
        rest, test = carve(parts["all"], dev_fraction, seed=seed, display=display)
        train, dev = carve(rest, dev_fraction / (1.0 - dev_fraction), seed=seed, display=display)
    else:
        if "train" not in parts:
            raise DatasetError(f"{display}: no row has split 'train'")
        train = parts["train"]
        dev, test = parts.get("dev"), parts.get("test")
        if dev is None:
            train, dev = carve(train, dev_fraction, seed=seed, display=display)
        if test is None:
            train, test = carve(train, dev_fraction, seed=seed + 1, display=display)
    return Dataset(name=path.stem, train=to_bio(train), dev=to_bio(dev), test=to_bio(test), notes=notes)
