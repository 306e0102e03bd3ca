"""The shared flags of every recipe, parsed once into a `Settings`.

    settings = parse_settings(["--depth", "2"], "python -m recipes.lstm", "...", lstm.DEFAULTS)

A bad value is refused at once with one line naming the flag and the value
(`argument --units: expected a value in [1, 16384], got '0'`) and exit status 2.
The argument types here (`positive_int`, `layer_width`, ...) are shared with the
other command lines (`recipes.tune`, `recipes.predict`).
"""

from __future__ import annotations

import argparse
import dataclasses
import math

import data
from data.command_line import Parser
from recipes.config.compile_cache import COMPILE_CACHE_HELP
from recipes.config.settings import (
    ENCODINGS,
    HEADS,
    INTENT_POOLINGS,
    INTENT_WEIGHTS,
    MONITORS,
    Settings,
    intent_weight_for,
    shared_defaults,
)


def _bounded(kind, low=None, high=None, low_open=False, high_open=False):
    def parse(text):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {'an integer' if kind is int else 'a number'}, got {text!r}")
        if not math.isfinite(value):
            raise argparse.ArgumentTypeError(f"expected a finite number, got {text!r}")
        too_low = low is not None and (value <= low if low_open else value < low)
        too_high = high is not None and (value >= high if high_open else value > high)
        if too_low or too_high:
            left = "(" if low_open else "["
            right = ")" if high_open else "]"
            span = f"{left}{low if low is not None else '-inf'}, {high if high is not None else 'inf'}{right}"
            raise argparse.ArgumentTypeError(f"expected a value in {span}, got {text!r}")
        return value

    return parse


def bucket_list(text):
    """`"8,16,32"` -> `(8, 16, 32)`: increasing positive padded lengths."""
    try:
        values = tuple(int(part) for part in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected increasing positive integers separated by commas, got {text!r}")
    if not values or values[0] < 1 or any(b <= a for a, b in zip(values, values[1:])):
        raise argparse.ArgumentTypeError(f"expected increasing positive integers separated by commas, got {text!r}")
    return values


COLUMNS_HELP = (
    "which column of a column file holds the word, the tag and the intent, counted from 1, as "
    "word=N,tag=N[,intent=N]; without it the columns are found by their content"
)

positive_int = _bounded(int, low=1)
non_negative_int = _bounded(int, low=0)
non_negative_float = _bounded(float, low=0.0)
dropout_rate = _bounded(float, low=0.0, high=1.0, high_open=True)
positive_float = _bounded(float, low=0.0, low_open=True)
seed_value = _bounded(int, low=0, high=2**32 - 1)  # what keras.utils.set_random_seed accepts
verbosity = _bounded(int, 0, 2)
# Model and batch sizes: far beyond anything slot filling needs, low enough that a typo
# (`--units 1000000`) is refused at once instead of exhausting memory minutes later.
layer_count = _bounded(int, low=1, high=64)
layer_width = _bounded(int, low=1, high=16384)
window_size = _bounded(int, low=0, high=32)
batch_size = _bounded(int, low=1, high=65536)
port_number = _bounded(int, low=0, high=65535)  # 0: any free port


def column_spec(text):
    """`--columns word=2,tag=4,intent=3`: checked now, kept as its canonical text."""
    try:
        return str(data.parse_columns(text))
    except data.DatasetError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def describe(docstring):
    """The `Description:` line of a recipe's tutobook header."""
    for line in (docstring or "").splitlines():
        if line.startswith("Description:"):
            return line.split(":", 1)[1].strip()
    return None


def make_parser(prog, description, defaults=None):
    """The shared flags of every recipe, defaulting to `Settings` with `defaults` (a recipe's) over it."""
    unknown = set(defaults or {}) - set(shared_defaults())
    if unknown:
        raise ValueError(f"Received defaults for settings that do not exist: {sorted(unknown)}.")
    parser = Parser(
        prog=prog,
        description=description,
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    add = parser.add_argument
    add(
        "--data",
        help="dataset: a built-in name (travel; atis or snips once downloaded), "
        "a folder with train/dev/test seq.in+seq.out, or a CoNLL, CSV or TSV file",
    )
    add("--columns", type=column_spec, metavar="SPEC", help=COLUMNS_HELP)
    add(
        "--encoding",
        choices=ENCODINGS,
        help="how words enter the network: 1-of-N with an OTHER "
        "dimension, learned word vectors, letter trigrams, or vectors and trigrams together",
    )
    add("--embedding-dim", type=layer_width, help="size of learned word and trigram vectors")
    add(
        "--word-vectors",
        metavar="FILE",
        help="start the word vectors from a GloVe/word2vec text file "
        "(its dimension must equal --embedding-dim; words it lacks start random)",
    )
    add(
        "--window",
        type=window_size,
        help="words on each side concatenated to each word before the recurrent layers (0: each word alone)",
    )
    add("--depth", type=layer_count, help="number of stacked recurrent layers")
    add("--units", type=layer_width, help="units per layer and direction")
    add("--bidirectional", action=argparse.BooleanOptionalAction, help="read each sentence in both directions")
    add("--dropout", type=dropout_rate, help="dropout on word features and between layers")
    add(
        "--head",
        choices=HEADS,
        help="tag head: an independent softmax per word, or a linear-chain CRF that scores whole tag sequences",
    )
    add(
        "--intent",
        action=argparse.BooleanOptionalAction,
        help="train an intent head beside the tags when the training data has intents (--no-intent: slots only)",
    )
    add(
        "--intent-pooling",
        choices=INTENT_POOLINGS,
        help="how the intent head reads the sentence from the recurrent states: learned attention over the "
        "words, or their mean",
    )
    add(
        "--intent-to-slots",
        action=argparse.BooleanOptionalAction,
        help="let the tag head read the sentence's intent distribution beside every word",
    )
    add(
        "--intent-weight",
        type=non_negative_float,
        help="weight of the intent loss beside the slot loss (None: "
        + ", ".join(f"{weight:g} with a {head} head" for head, weight in INTENT_WEIGHTS.items())
        + "; the CRF's slot loss is summed over a sentence's words, the softmax's averaged)",
    )
    add(
        "--monitor",
        choices=MONITORS,
        help="the dev score that early stopping and the best epoch follow (frame_accuracy: intent and every "
        "tag right; needs intents)",
    )
    add("--learning-rate", type=positive_float, help="Adam learning rate (gradients clipped to norm 5)")
    add("--epochs", type=positive_int, help="most epochs to train")
    add("--patience", type=positive_int, help="stop after this many epochs without a better dev score (--monitor)")
    add("--batch-size", type=batch_size, help="sentences per batch")
    add(
        "--buckets",
        type=bucket_list,
        help="padded sentence lengths, comma-separated: each batch holds "
        "sentences of one bucket, padded to its length (longer ones to multiples of the last)",
    )
    add("--max-train", type=positive_int, help="use at most this many training sentences (quick trials)")
    add("--seed", type=seed_value, help="seed of weights, shuffling and dropout")
    add("--output-dir", help="run folder (default: a new folder under runs/)")
    add("--resume", action="store_true", help="continue the unfinished run in --output-dir from its last epoch")
    add("--verbose", type=verbosity, help="Keras progress output: 0 silent, 1 progress bar, 2 a line per epoch")
    add("--compile-cache", metavar="DIR", help=COMPILE_CACHE_HELP)
    parser.set_defaults(**{**shared_defaults(), **(defaults or {})})
    return parser


def parse_settings(argv, prog, description, defaults=None) -> Settings:
    """The command line `argv` (None: `sys.argv[1:]`) as a `Settings`."""
    settings = Settings(**vars(make_parser(prog, description, defaults).parse_args(argv)))
    # The weight the run trains with, so that config.json and a resumed run hold the number itself.
    return dataclasses.replace(settings, intent_weight=intent_weight_for(settings.head, settings.intent_weight))
