"""Every option of a run, declared once: its name, type and check, default, help, groups and search space.

    settings = Settings()                                 # every shared default
    settings = Settings(**{**shared_defaults(), **lstm.DEFAULTS})   # what `python -m recipes.lstm` trains
    dataclasses.replace(settings, epochs=3)               # a changed copy; the original stays as it was

Each field of `Settings` is one option. Its default is the shared default (a
recipe's `DEFAULTS` dict overrides some: `recipes/lstm.py` trains one layer
of 256 units); its `option(...)` metadata says the rest, as Hugging Face's
`TrainingArguments` fields carry `metadata={"help": ...}`. Everything that
lists options is made from these fields and nothing else:

- the recipes' command line (`flags.make_parser`: `--depth N`, ...);
- the tuner's command line and search space (`recipes.search`): an option
  with `search=` is searched between `--min-X` and `--max-X` (or over `--Xs`,
  or both ways for a boolean); the others the tuner takes are fixed flags;
- `config.json` (`as_config`), and what a resumed run reads back from it
  (`RESUMED`); what `search.json` records (`SEARCH_DEFINING`);
- the keyword arguments of every recipe's `build_model` (`MODEL_OPTIONS`),
  which stay written out in each recipe: that signature is what people copy.

Groups: "data" (what is read), "model" (`build_model`'s arguments),
"training" (how it is fitted), "run" (where and how it runs: changes no
result), and for the tuner's own options "search" (`recipes.search`).
Adding a model option: a field here, the model part that uses it, the
recipes' `build_model` signatures, a test.
"""

from __future__ import annotations

import dataclasses

from data.batching import DEFAULT_BUCKETS
from recipes.config import arguments
from recipes.config.compile_cache import COMPILE_CACHE, COMPILE_CACHE_HELP

ENCODINGS = ("onehot", "embedding", "trigram", "embedding+trigram")
HEADS = ("softmax", "crf")
INTENT_POOLINGS = ("attention", "mean")
MONITORS = ("slot_f1", "frame_accuracy")
GROUPS = ("data", "model", "training", "run", "search")


@dataclasses.dataclass(frozen=True)
class Search:
    """How the tuner searches an option, and the default bounds of its search.

    kind: "int" (every integer from low to high), "float" (uniform), "log" (a
    float on a log scale), "doubling" (low, 2 low, 4 low, ... up to high),
    "choices" (any of `values`, flag `--<plural>`), "boolean" (both values
    unless `--X` or `--no-X` fixes one)."""

    kind: str
    low: float | None = None
    high: float | None = None
    values: tuple = ()
    plural: str | None = None  # the flag of a "choices" option: "heads" for head
    only_with_intents: bool = False  # searched only where the models have an intent head


@dataclasses.dataclass(frozen=True)
class Option:
    """What the command lines, config.json and the tuner know of one `Settings` field."""

    help: str
    group: str
    boolean: bool = False  # a yes/no option: `--X` / `--no-X` (or, with `switch`, `--X` alone)
    parse: object = None  # an argparse type (`arguments.positive_int`, ...); None: the text as it is
    choices: tuple | None = None
    metavar: str | None = None
    switch: bool = False  # a `--flag` that only turns the option on (`--resume`)
    search: Search | None = None  # how the tuner searches it; None: fixed in a search
    tuner: bool = True  # the tuner takes it (searched or fixed); False: recipes only
    resumed: bool = False  # a resumed run keeps config.json's value instead of the command line's
    intent_only: bool = False  # shapes only the intent head: not part of a search without one

    def __post_init__(self):
        if self.group not in GROUPS:
            raise ValueError(
                f"Received an invalid value for argument group, expected one of {GROUPS}, got {self.group!r}."
            )


def option(default, help, group, **details):
    """A field of `Settings` (or of another options dataclass): its default and its `Option`."""
    declared = Option(help, group, boolean=isinstance(default, bool), **details)
    return dataclasses.field(default=default, metadata={"option": declared})


def declared_options(cls):
    """`{name: Option}` of an options dataclass, in declaration order."""
    return {field.name: field.metadata["option"] for field in dataclasses.fields(cls)}


@dataclasses.dataclass(frozen=True)
class Settings:
    """Everything one training run is told: data, model shape, optimisation, run folder."""

    data: str = option(
        "travel",
        "dataset: a built-in name (travel; atis or snips once downloaded), a folder with train/dev/test "
        "seq.in+seq.out, or a CoNLL, CSV or TSV file",
        "data",
    )
    columns: str | None = option(
        None,
        "which column of a column file holds the word, the tag and the intent, counted from 1, as "
        "word=N,tag=N[,intent=N]; without it the columns are found by their content",
        "data",
        parse=arguments.column_spec,
        metavar="SPEC",
    )
    encoding: str = option(
        "embedding+trigram",
        "how words enter the network: 1-of-N with an OTHER dimension, learned word vectors, letter trigrams, or "
        "vectors and trigrams together",
        "model",
        choices=ENCODINGS,
        resumed=True,
    )
    embedding_dim: int = option(
        100, "size of learned word and trigram vectors", "model", parse=arguments.layer_width, resumed=True
    )
    word_vectors: str | None = option(
        None,
        "start the word vectors from a GloVe/word2vec text file (its dimension must equal --embedding-dim; words "
        "it lacks start random)",
        "training",
        metavar="FILE",
        tuner=False,
    )
    window: int = option(
        1,
        "words on each side concatenated to each word before the recurrent layers (0: each word alone)",
        "model",
        parse=arguments.window_size,
        resumed=True,
    )
    depth: int = option(
        2,
        "number of stacked recurrent layers",
        "model",
        parse=arguments.layer_count,
        resumed=True,
        search=Search("int", 1, 4),
    )
    units: int = option(
        128,
        "units per layer and direction",
        "model",
        parse=arguments.layer_width,
        resumed=True,
        search=Search("doubling", 32, 512),
    )
    bidirectional: bool = option(
        True, "read each sentence in both directions", "model", resumed=True, search=Search("boolean")
    )
    dropout: float = option(
        0.3,
        "dropout on word features and between layers",
        "model",
        parse=arguments.dropout_rate,
        resumed=True,
        search=Search("float", 0.0, 0.5),
    )
    learning_rate: float = option(
        0.005,
        "Adam learning rate (gradients clipped to norm 5)",
        "training",
        parse=arguments.positive_float,
        search=Search("log", 5e-4, 1e-2),
    )
    head: str = option(
        "softmax",
        "tag head: an independent softmax per word, or a linear-chain CRF that scores whole tag sequences",
        "model",
        choices=HEADS,
        resumed=True,
        search=Search("choices", values=HEADS, plural="heads"),
    )
    intent: bool = option(
        True,
        "train an intent head beside the tags when the training data has intents (--no-intent: slots only)",
        "model",
        resumed=True,
    )
    intent_pooling: str = option(
        "attention",
        "how the intent head reads the sentence from the recurrent states: learned attention over the words, or "
        "their mean",
        "model",
        choices=INTENT_POOLINGS,
        resumed=True,
        intent_only=True,
    )
    intent_to_slots: bool = option(
        False,
        "let the tag head read the sentence's intent distribution beside every word",
        "model",
        resumed=True,
        intent_only=True,
    )
    intent_weight: float | None = option(
        None,
        "weight of the intent loss beside the slot loss (None: 0.1 with a softmax head, 1 with a crf head; the "
        "CRF's slot loss is summed over a sentence's words, the softmax's averaged)",
        "training",
        parse=arguments.non_negative_float,
        resumed=True,
        intent_only=True,
        search=Search("log", 0.03, 3.0, only_with_intents=True),
    )
    monitor: str = option(
        "slot_f1",
        "the dev score that early stopping and the best epoch follow (frame_accuracy: intent and every tag "
        "right; needs intents)",
        "training",
        choices=MONITORS,
        resumed=True,
        tuner=False,  # a search's --objective decides it
    )
    epochs: int = option(30, "most epochs to train", "training", parse=arguments.positive_int)
    patience: int = option(
        5,
        "stop after this many epochs without a better dev score (--monitor)",
        "training",
        parse=arguments.positive_int,
    )
    batch_size: int = option(32, "sentences per batch", "training", parse=arguments.batch_size)
    buckets: tuple = option(
        DEFAULT_BUCKETS,
        "padded sentence lengths, comma-separated: each batch holds sentences of one bucket, padded to its "
        "length (longer ones to multiples of the last)",
        "run",
        parse=arguments.bucket_list,
    )
    max_train: int | None = option(
        None, "use at most this many training sentences (quick trials)", "data", parse=arguments.positive_int
    )
    seed: int = option(0, "seed of weights, shuffling and dropout", "training", parse=arguments.seed_value)
    output_dir: str | None = option(None, "run folder (default: a new folder under runs/)", "run", tuner=False)
    resume: bool = option(
        False,
        "continue the unfinished run in --output-dir from its last epoch",
        "run",
        switch=True,
        tuner=False,
    )
    verbose: int = option(
        1, "Keras progress output: 0 silent, 1 progress bar, 2 a line per epoch", "run", parse=arguments.verbosity
    )
    compile_cache: str = option(str(COMPILE_CACHE), COMPILE_CACHE_HELP, "run", metavar="DIR", tuner=False)


# The intent loss's default weight beside each tag head's loss. The softmax's slot loss is a mean over a sentence's
# words, the CRF's a sentence's negative log-likelihood, a sum over its words (ATIS and SNIPS average 9 to 11), so
# the same balance takes about ten times the weight beside a CRF (README, Intents, has the dev scores).
INTENT_WEIGHTS = {"softmax": 0.1, "crf": 1.0}


def intent_weight_for(head, intent_weight=None):
    """`intent_weight` when given, else the default beside `head` (`INTENT_WEIGHTS`)."""
    return INTENT_WEIGHTS[head] if intent_weight is None else intent_weight


OPTIONS = declared_options(Settings)


def named(predicate):
    """The names of the options for which `predicate(option)` holds, in declaration order."""
    return tuple(name for name, declared in OPTIONS.items() if predicate(declared))


MODEL_OPTIONS = named(lambda declared: declared.group == "model")  # `build_model`'s keyword arguments
RESUMED = named(lambda declared: declared.resumed)  # what a resumed run keeps from config.json
SEARCHED = named(lambda declared: declared.search is not None)  # what the tuner may search
TUNER_OPTIONS = named(lambda declared: declared.tuner)  # what the tuner takes, searched or fixed
# What defines a search (`search.json`): every option the tuner takes that can change a result.
SEARCH_DEFINING = named(lambda declared: declared.tuner and declared.group != "run")
INTENT_ONLY = named(lambda declared: declared.intent_only)

SHARED = Settings()  # the shared defaults, for `build_model` signatures: `encoding=SHARED.encoding`


def shared_defaults() -> dict:
    """The shared defaults as a dict, field by field."""
    return {field.name: field.default for field in dataclasses.fields(Settings)}


def model_options(settings: Settings) -> dict:
    """The `build_model` keyword arguments that `settings` choose."""
    return {key: getattr(settings, key) for key in MODEL_OPTIONS}


def as_config(settings: Settings) -> dict:
    """The settings as plain JSON values (what `config.json` holds besides the recipe's name)."""
    return {key: list(value) if isinstance(value, tuple) else value for key, value in vars(settings).items()}
