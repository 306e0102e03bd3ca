"""The training settings of a run, as one typed object, and the table of their shared defaults.

    settings = Settings()                                 # every shared default
    settings = Settings(**{**shared_defaults(), **lstm.DEFAULTS})   # what `python -m recipes.lstm` trains
    dataclasses.replace(settings, epochs=3)               # a changed copy; the original stays as it was

The field defaults below are the one table of defaults every recipe shares; a
recipe's `DEFAULTS` dict overrides some of them (`recipes/lstm.py`: one layer
of 256 units, dropout 0.5, learning rate 0.004). The flags (`flags.py`), the
recipes' `build_model` keyword defaults and the tuner all read them from here.
"""

from __future__ import annotations

import dataclasses

from data.batching import DEFAULT_BUCKETS
from recipes.config.compile_cache import COMPILE_CACHE

ENCODINGS = ("onehot", "embedding", "trigram", "embedding+trigram")
HEADS = ("softmax", "crf")
INTENT_POOLINGS = ("attention", "mean")
MONITORS = ("slot_f1", "frame_accuracy")


@dataclasses.dataclass(frozen=True)
class Settings:
    """Everything one training run is told: data, model shape, optimisation, run folder."""

    data: str = "travel"  # a built-in name, a dataset folder, or a CoNLL/CSV/TSV file
    columns: str | None = None  # which column of a column file is the word, the tag, the intent
    encoding: str = "embedding+trigram"  # how words enter the network (ENCODINGS)
    embedding_dim: int = 100  # size of learned word and trigram vectors
    word_vectors: str | None = None  # a GloVe/word2vec text file to start the word vectors from
    window: int = 1  # neighbours on each side concatenated to each word
    depth: int = 2  # stacked recurrent layers
    units: int = 128  # units per layer and direction
    bidirectional: bool = True  # read each sentence in both directions
    dropout: float = 0.3  # on word features and between layers
    head: str = "softmax"  # tag head (HEADS)
    intent: bool = True  # train an intent head beside the tags when the data has intents
    intent_pooling: str = "attention"  # how the intent head reads the sentence (INTENT_POOLINGS)
    intent_to_slots: bool = False  # the tag head also reads the intent distribution at every word
    intent_weight: float | None = None  # the intent loss's weight beside the slot loss; None: by head (INTENT_WEIGHTS)
    monitor: str = "slot_f1"  # the dev score of early stopping and the best epoch (MONITORS)
    learning_rate: float = 0.005  # Adam, gradients clipped to norm 5
    epochs: int = 30  # most epochs to train
    patience: int = 5  # epochs without a better dev score (`monitor`) before stopping
    batch_size: int = 32  # sentences per batch
    buckets: tuple = DEFAULT_BUCKETS  # padded sentence lengths of the batches
    max_train: int | None = None  # use at most this many training sentences
    seed: int = 0  # seed of weights, shuffling and dropout
    output_dir: str | None = None  # the run folder (None: a new one under runs/)
    resume: bool = False  # continue the unfinished run in output_dir
    verbose: int = 1  # Keras progress output: 0, 1 or 2
    compile_cache: str = str(COMPILE_CACHE)  # JAX's persistent compilation cache folder, or "off"


# The intent loss's default weight beside each tag head's loss. The softmax's slot loss is a mean over a sentence's
# words, the CRF's a sentence's negative log-likelihood, a sum over its words (ATIS and SNIPS average 9 to 11), so
# the same balance takes about ten times the weight beside a CRF. Dev slot F1 / intent accuracy, LSTM, seed 0:
# softmax 0.1 beat 0.3 and 1 on ATIS; CRF 1 against 0.1: ATIS 97.63 / 97.2 against 97.57 / 96.4, SNIPS 94.28 /
# 98.7 against 94.26 / 98.3.
INTENT_WEIGHTS = {"softmax": 0.1, "crf": 1.0}


def intent_weight_for(head, intent_weight=None):
    """`intent_weight` when given, else the default beside `head` (`INTENT_WEIGHTS`)."""
    return INTENT_WEIGHTS[head] if intent_weight is None else intent_weight


# The settings that decide the model's shape: `build_model`'s keyword arguments.
MODEL_FLAGS = (
    "depth",
    "units",
    "bidirectional",
    "encoding",
    "embedding_dim",
    "window",
    "dropout",
    "head",
    "intent",
    "intent_pooling",
    "intent_to_slots",
)


def shared_defaults() -> dict:
    """The shared defaults as a dict, field by field."""
    return {field.name: field.default for field in dataclasses.fields(Settings)}


SHARED = Settings()  # the shared defaults, for `build_model` signatures: `encoding=SHARED.encoding`


def model_options(settings: Settings) -> dict:
    """The `build_model` keyword arguments that `settings` choose."""
    return {key: getattr(settings, key) for key in MODEL_FLAGS}


def as_config(settings: Settings) -> dict:
    """The settings as plain JSON values (what `config.json` holds besides the recipe's name)."""
    return {key: list(value) if isinstance(value, tuple) else value for key, value in vars(settings).items()}
