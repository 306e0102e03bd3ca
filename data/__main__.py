"""Command line: describe, write and download datasets.

    python -m data describe SOURCE [--json] [--columns word=N,tag=N[,intent=N]]
    python -m data write SOURCE DIR [--columns word=N,tag=N[,intent=N]]
    python -m data download atis|snips [--dir DIR] [--base-url URL]

SOURCE is anything `load_dataset` accepts: travel, atis, snips, a dataset
folder, or a .conll/.conllu/.bio/.iob/.txt/.csv/.tsv file. `--columns` says
which column of a column file (or field of a CSV/TSV file) holds the word, the
tag and the intent, counted from 1, where finding them by content fails. A bad
source prints `python -m data: error: <one line naming the file and line>` on stderr and exits
with status 2.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter

from data import command_line
from data.columns import parse_columns
from data.download import DEFAULT_BASE_URL, DIGESTS, download
from data.readers import Dataset, DatasetError, write_dataset
from data.sources import load_dataset

PROG = "python -m data"


def describe(dataset: Dataset) -> dict:
    """Per split: sentences, tokens, vocabulary, tag set size, intents, unknown-word rate and tags unseen in train."""
    train_words = {word for sentence in dataset.train.words for word in sentence}
    train_tags = {tag for sentence in dataset.train.tags for tag in sentence}
    summary = {}
    for split_name, split in dataset.splits().items():
        tokens = [word for sentence in split.words for word in sentence]
        tag_counts = Counter(tag for sentence in split.tags for tag in sentence)
        unknown = sum(word not in train_words for word in tokens)
        summary[split_name] = {
            "sentences": len(split),
            "tokens": len(tokens),
            "vocabulary": len(set(tokens)),
            "tags": len(tag_counts),
            "slots": len({tag[2:] for tag in tag_counts if tag != "O"}),
            "intents": None if split.intents is None else len(set(split.intents)),
            "unknown_word_rate": round(unknown / len(tokens), 4) if tokens else 0.0,
            "unseen_tags": dict(sorted((tag, n) for tag, n in tag_counts.items() if tag not in train_tags)),
            "converted_tags": split.converted_tags,
        }
    return summary


def print_table(name: str, summary: dict, notes=()) -> None:
    columns = ("sentences", "tokens", "vocabulary", "tags", "slots", "intents", "unknown_word_rate")
    headers = ("split",) + tuple(column.replace("_", " ") for column in columns)
    rows = [headers] + [
        (split_name,) + tuple("-" if values[c] is None else str(values[c]) for c in columns)
        for split_name, values in summary.items()
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(len(headers))]
    print(f"dataset: {name}")
    for row in rows:
        cells = [cell.ljust(width) if i == 0 else cell.rjust(width) for i, (cell, width) in enumerate(zip(row, widths))]
        print("  ".join(cells))
    print("unknown word rate: share of tokens whose exact spelling never occurs in train")
    for split_name, values in summary.items():
        if values["unseen_tags"]:
            listed = ", ".join(f"{tag} ({count})" for tag, count in values["unseen_tags"].items())
            print(f"{split_name}: tags unseen in train: {listed}")
    for split_name, values in summary.items():
        if values["converted_tags"]:
            count = values["converted_tags"]
            print(f"{split_name}: {count} BIOES tag{'s' * (count != 1)} converted to BIO (S- to B-, E- to I-)")
    for note in notes:
        print(note)


class Parser(command_line.Parser):
    """The shared one-line parser (`data.command_line`), its errors ending with the usage."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, usage_in_errors=True, **kwargs)


def columns_option(text: str):
    """`--columns word=2,tag=4,intent=3` for argparse: a `ColumnSpec`, or a usage error of one line."""
    try:
        return parse_columns(text)
    except DatasetError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(prog=PROG, description="Describe, write and download slot-filling datasets.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND", parser_class=Parser)

    def add_source_options(command):
        command.add_argument(
            "source",
            metavar="SOURCE",
            help="travel, atis, snips, a dataset folder, a folder of split files or a .conll/.bio/.csv/.tsv file",
        )
        command.add_argument(
            "--seed", type=int, default=0, help="seed of the travel generator and of carved splits (default 0)"
        )
        command.add_argument(
            "--dev-fraction",
            type=float,
            default=0.1,
            help="share carved for a missing dev (or test) split (default 0.1)",
        )
        command.add_argument(
            "--columns",
            type=columns_option,
            default=None,
            metavar="SPEC",
            help="the columns of a column file (fields of a CSV/TSV) holding the word, the tag and optionally "
            "the intent, counted from 1: word=2,tag=4,intent=3 (default: found by content)",
        )

    describe_command = commands.add_parser(
        "describe", help="print sizes, vocabulary, tags and unknown-word rates per split"
    )
    add_source_options(describe_command)
    describe_command.add_argument("--json", action="store_true", help="print one JSON object keyed train/dev/test")

    write_command = commands.add_parser("write", help="write any SOURCE as a dataset folder (seq.in/seq.out/label)")
    add_source_options(write_command)
    write_command.add_argument("directory", metavar="DIR", help="a new folder to write")
    write_command.add_argument("--force", action="store_true", help="replace DIR when it exists")

    download_command = commands.add_parser("download", help="download ATIS or SNIPS into the cache, verifying SHA-256")
    download_command.add_argument("name", choices=sorted(DIGESTS))
    download_command.add_argument(
        "--dir", default=None, help="cache folder (default $SLOT_RNN_DATA or ~/.cache/slot-rnn)"
    )
    download_command.add_argument(
        "--base-url", default=DEFAULT_BASE_URL, help=f"where to fetch from (default {DEFAULT_BASE_URL})"
    )
    return parser


# A download that cannot reach its host or write its cache is bad input too: the flags named them.
@command_line.command(PROG, usage_errors=(OSError,))
def main(argv=None) -> int:
    arguments = build_parser().parse_args(argv)
    if arguments.command == "describe":
        dataset = load_dataset(
            arguments.source, seed=arguments.seed, dev_fraction=arguments.dev_fraction, columns=arguments.columns
        )
        summary = describe(dataset)
        if arguments.json:
            print(json.dumps(summary))
        else:
            print_table(dataset.name, summary, dataset.notes)
    elif arguments.command == "write":
        dataset = load_dataset(
            arguments.source, seed=arguments.seed, dev_fraction=arguments.dev_fraction, columns=arguments.columns
        )
        write_dataset(dataset, arguments.directory, overwrite=arguments.force)
        sizes = ", ".join(f"{len(split)} {name}" for name, split in dataset.splits().items())
        print(f"wrote {arguments.directory} ({sizes})")
    elif arguments.command == "download":
        folder = download(arguments.name, arguments.dir, base_url=arguments.base_url)
        print(folder)
    return 0


if __name__ == "__main__":
    sys.exit(main())
