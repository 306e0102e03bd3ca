"""Argument types of every command line: each parses one flag's text or says, in one line, what it expected.

    positive_int("3") == 3
    layer_width("0")       # argparse.ArgumentTypeError: expected a value in [1, 16384], got '0'

argparse turns their errors into `argument --units: expected a value in [1, 16384], got '0'`.
"""

from __future__ import annotations

import argparse
import math

import data


def bounded(kind, low=None, high=None, low_open=False, high_open=False):
    """An argparse type for an `int` or `float` between `low` and `high` (inclusive unless `*_open`), finite."""

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


positive_int = bounded(int, low=1)
non_negative_int = bounded(int, low=0)
non_negative_float = bounded(float, low=0.0)
dropout_rate = bounded(float, low=0.0, high=1.0, high_open=True)
positive_float = bounded(float, low=0.0, low_open=True)
seed_value = bounded(int, low=0, high=2**32 - 1)  # what keras.utils.set_random_seed accepts
verbosity = bounded(int, 0, 2)
# Model and batch sizes: far beyond anything slot filling needs, low enough that a typo
# (`--units 1000000`) is refused at once instead of exhausting memory minutes later.
layer_count = bounded(int, low=1, high=64)
layer_width = bounded(int, low=1, high=16384)
window_size = bounded(int, low=0, high=32)
batch_size = bounded(int, low=1, high=65536)
port_number = bounded(int, low=0, high=65535)  # 0: any free port


def column_spec(text):
    """`--columns word=2,tag=4,intent=3`: checked now, kept as its canonical text."""
    try:
        return str(data.parse_columns(text))
    except data.DatasetError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def name_list(kind, allowed):
    """An argparse type for a comma-separated list of names out of `allowed` (`"lstm,gru"` -> `["lstm", "gru"]`)."""

    def parse(text):
        names = [name.strip() for name in text.split(",") if name.strip()]
        if not names:
            raise argparse.ArgumentTypeError(f"expected one or more of {','.join(allowed)}, got {text!r}")
        for name in names:
            if name not in allowed:
                raise argparse.ArgumentTypeError(f"unknown {kind} {name!r} (choose from {', '.join(allowed)})")
        return list(dict.fromkeys(names))

    return parse
