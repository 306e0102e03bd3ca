"""Slot-filling datasets: read and validate them, generate the built-in one, encode words and tags.

One record of a dataset folder is one line in each of three files:

    train/seq.in   show me flights from boston to san francisco on monday
    train/seq.out  O O O O B-fromloc.city_name O B-toloc.city_name I-toloc.city_name O B-depart_date.day_name
    train/label    atis_flight

`load_dataset` turns it into one sentence of a `Split`:

    split.words[0]   == ["show", "me", "flights", "from", "boston", "to", "san", "francisco", "on", "monday"]
    split.tags[0]    == ["O", "O", "O", "O", "B-fromloc.city_name", "O", "B-toloc.city_name",
                         "I-toloc.city_name", "O", "B-depart_date.day_name"]
    split.intents[0] == "atis_flight"

and an `Encoder` fitted on train turns it into ids for a model
(`encode_words`, `encode_trigrams`, `encode_tags`). Tags stay strings in a
`Split`, exactly as written, so that scoring sees the gold tags.

Sources (`load_dataset(source)`): "travel" (generated, see `data.travel`),
"atis" / "snips" (after `python -m data download atis`), a dataset folder, or a
single `.conll`/`.conllu`/`.bio`/`.iob`/`.txt`/`.csv`/`.tsv` file, whose word,
tag and intent columns are found by content or given with
`load_dataset(path, columns="word=2,tag=4,intent=3")` (see `parse_columns`).
From the command line:

    python -m data describe travel
    python -m data describe path/to/folder --json
    python -m data describe corpus.conllu --columns word=2,tag=4,intent=3
    python -m data write travel datasets/travel
    python -m data download atis

Importing this package reads, writes and downloads nothing, and does not
import Keras.
"""

from data.columns import ColumnSpec, parse_columns
from data.download import DEFAULT_BASE_URL, default_cache_dir, download
from data.encoders import Encoder
from data.readers import Dataset, DatasetError, Split, write_dataset
from data.sources import load_dataset
from data.travel import generate_travel
from data.vectors import read_word_vectors

__all__ = [
    "read_word_vectors",
    "ColumnSpec",
    "DEFAULT_BASE_URL",
    "Dataset",
    "DatasetError",
    "Encoder",
    "Split",
    "default_cache_dir",
    "download",
    "generate_travel",
    "load_dataset",
    "parse_columns",
    "write_dataset",
]
