"""The flags of `python -m recipes.tune`, and the role of this process in a search.

    parser = make_parser(PROG, description, SPACE)     # SPACE: the search space's defaults (recipes/tune.py)
    args = parser.parse_args(argv)
    role = check_args(parser, args)                    # "single", "parent", "chief" or "worker"

The data and training flags default to the recipes' shared defaults
(`settings.SHARED`); the search-space flags to the constants of `recipes/tune.py`.
"""

import argparse
import os
import re
from pathlib import Path

from data.command_line import Parser
from recipes.config import flags
from recipes.config.errors import UsageError
from recipes.config.settings import ENCODINGS, HEADS, INTENT_POOLINGS, SHARED

TUNERS = ("random", "bayesian", "hyperband")
# What a search may maximise: a dev score of every trial's best epoch (frame accuracy: the intent and
# every tag of a sentence right, which needs data with intents and the intent head).
OBJECTIVES = ("val_slot_f1", "val_frame_accuracy")
# Flags only the process that starts a distributed search acts on, with the number of values each
# takes: its chief and workers get every other flag of its command line (`launcher_free`).
LAUNCHER_FLAGS = {"--distributed": 0, "--workers": 1, "--overwrite": 0}


def name_list(kind, allowed):
    """An argparse type for a comma-separated list of names out of `allowed`."""

    def parse(text):
        names = [name.strip() for name in text.split(",") if name.strip()]
        if not names:
            raise argparse.ArgumentTypeError(f"expected one or more of {','.join(allowed)}, got {text!r}")
        for name in names:
            if name not in allowed:
                raise argparse.ArgumentTypeError(f"unknown {kind} {name!r} (choose from {', '.join(allowed)})")
        return list(dict.fromkeys(names))

    return parse


def make_parser(prog, description, defaults):
    """The tuner's flags; `defaults` holds the defaults of the search space (`cells`, `min_depth`, ...)."""
    parser = Parser(prog=prog, description=description, allow_abbrev=False)
    space = parser.add_argument_group("search space (each range is inclusive; equal ends fix the value)")
    space.add_argument(
        "--cells",
        type=name_list("cell", tuple(defaults["cells"])),
        default=",".join(defaults["cells"]),
        help="recurrent cells to try, comma-separated (default: %(default)s)",
    )
    space.add_argument(
        "--min-depth",
        type=flags.layer_count,
        default=defaults["min_depth"],
        help="fewest stacked recurrent layers (default: %(default)s)",
    )
    space.add_argument(
        "--max-depth",
        type=flags.layer_count,
        default=defaults["max_depth"],
        help="most stacked recurrent layers (default: %(default)s)",
    )
    space.add_argument(
        "--min-units",
        type=flags.layer_width,
        default=defaults["min_units"],
        help="narrowest layer, in units per direction; widths double from here up to "
        "--max-units (default: %(default)s)",
    )
    space.add_argument(
        "--max-units", type=flags.layer_width, default=defaults["max_units"], help="widest layer (default: %(default)s)"
    )
    space.add_argument(
        "--bidirectional",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="fix the reading direction (default: try both)",
    )
    space.add_argument(
        "--min-dropout",
        type=flags.dropout_rate,
        default=defaults["min_dropout"],
        help="lowest dropout (default: %(default)s)",
    )
    space.add_argument(
        "--max-dropout",
        type=flags.dropout_rate,
        default=defaults["max_dropout"],
        help="highest dropout (default: %(default)s)",
    )
    space.add_argument(
        "--min-learning-rate",
        type=flags.positive_float,
        default=defaults["min_learning_rate"],
        help="lowest Adam learning rate, sampled on a log scale (default: %(default)s)",
    )
    space.add_argument(
        "--max-learning-rate",
        type=flags.positive_float,
        default=defaults["max_learning_rate"],
        help="highest Adam learning rate (default: %(default)s)",
    )
    space.add_argument(
        "--heads",
        type=name_list("head", HEADS),
        default=",".join(defaults["heads"]),
        help="tag heads to try, comma-separated (default: %(default)s)",
    )
    space.add_argument(
        "--encoding",
        choices=ENCODINGS,
        default=SHARED.encoding,
        help="how words enter every network, fixed (default: %(default)s)",
    )
    space.add_argument(
        "--embedding-dim",
        type=flags.layer_width,
        default=SHARED.embedding_dim,
        help="size of learned word and trigram vectors, fixed (default: %(default)s)",
    )
    space.add_argument(
        "--window",
        type=flags.window_size,
        default=SHARED.window,
        help="words on each side concatenated to each word, fixed (default: %(default)s)",
    )

    space.add_argument(
        "--intent",
        action=argparse.BooleanOptionalAction,
        default=SHARED.intent,
        help="train an intent head beside the tags when the training data has intents, fixed "
        "(--no-intent: slots only; default: yes)",
    )
    space.add_argument(
        "--intent-pooling",
        choices=INTENT_POOLINGS,
        default=SHARED.intent_pooling,
        help="how the intent head reads the sentence, fixed (default: %(default)s)",
    )
    space.add_argument(
        "--intent-to-slots",
        action=argparse.BooleanOptionalAction,
        default=SHARED.intent_to_slots,
        help="let the tag head read the intent distribution at every word, fixed (default: no)",
    )
    space.add_argument(
        "--min-intent-weight",
        type=flags.positive_float,
        default=defaults["min_intent_weight"],
        help="lowest weight of the intent loss beside the slot loss, sampled on a log scale; searched "
        "only with an intent head on data with intents (default: %(default)s)",
    )
    space.add_argument(
        "--max-intent-weight",
        type=flags.positive_float,
        default=defaults["max_intent_weight"],
        help="highest weight of the intent loss (default: %(default)s)",
    )

    training = parser.add_argument_group("data and training of each trial")
    training.add_argument(
        "--data",
        default=SHARED.data,
        help="dataset: a built-in name, a dataset folder, or a CoNLL, CSV or TSV file, "
        "as in every recipe (default: %(default)s)",
    )
    training.add_argument(
        "--columns",
        type=flags.column_spec,
        metavar="SPEC",
        default=None,
        help=flags.COLUMNS_HELP + " (default: found by content)",
    )
    training.add_argument(
        "--epochs",
        type=flags.positive_int,
        default=SHARED.epochs,
        help="most epochs per trial (hyperband: the most any trial reaches), and the "
        "epochs of the final retraining (default: %(default)s)",
    )
    training.add_argument(
        "--patience",
        type=flags.positive_int,
        default=SHARED.patience,
        help="stop a trial after this many epochs without a better dev score (the one --objective names; "
        "default: %(default)s)",
    )
    training.add_argument(
        "--batch-size",
        type=flags.batch_size,
        default=SHARED.batch_size,
        help="sentences per batch (default: %(default)s)",
    )
    training.add_argument(
        "--buckets",
        type=flags.bucket_list,
        default=",".join(map(str, SHARED.buckets)),
        help="padded sentence lengths, comma-separated (fewer: fewer shapes to compile; default: %(default)s)",
    )
    training.add_argument(
        "--max-train",
        type=flags.positive_int,
        default=None,
        help="trials use at most this many training sentences (quick trials); the best "
        "configuration is retrained on all of them (default: all)",
    )
    training.add_argument(
        "--seed",
        type=flags.seed_value,
        default=SHARED.seed,
        help="seed of the search, the weights, shuffling and dropout (default: %(default)s)",
    )
    training.add_argument(
        "--verbose",
        type=int,
        choices=(0, 1, 2),
        default=SHARED.verbose,
        help="0: one line per trial; 1: keras-tuner's tables and progress bars; "
        "2: a line per epoch (default: %(default)s)",
    )

    search = parser.add_argument_group("search")
    search.add_argument(
        "--tuner", choices=TUNERS, default="random", help="how keras-tuner picks the next trial (default: %(default)s)"
    )
    search.add_argument(
        "--objective",
        choices=OBJECTIVES,
        default=OBJECTIVES[0],
        help="the dev score the search maximises and each trial stops early on: slot F1, or frame accuracy "
        "(intent and every tag right; needs data with intents and the intent head) (default: %(default)s)",
    )
    search.add_argument(
        "--max-trials",
        type=flags.positive_int,
        default=None,
        help=f"trials in all, counting those of a resumed search (default: {defaults['max_trials']}; "
        "hyperband decides its own number from --epochs)",
    )
    search.add_argument(
        "--executions-per-trial",
        type=flags.positive_int,
        default=1,
        help="models trained per trial from fresh weights; the trial scores their mean (default: %(default)s)",
    )
    search.add_argument("--directory", default="tuning", help="folder of all searches (default: %(default)s)")
    search.add_argument(
        "--project-name", default=None, help="this search's folder inside --directory (default: the dataset's name)"
    )
    search.add_argument("--overwrite", action="store_true", help="delete the search in that folder and start over")
    search.add_argument(
        "--retrain",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="retrain the best configuration and save it as a run folder (default: yes)",
    )

    distributed = parser.add_argument_group("distributed search")
    distributed.add_argument(
        "--distributed",
        action="store_true",
        help="run a chief and --workers worker processes on this machine (127.0.0.1)",
    )
    distributed.add_argument(
        "--workers", type=flags.positive_int, default=None, help="worker processes of --distributed (default: 2)"
    )
    # Set by --distributed for the chief it starts: serve trials, leave the tables to the parent.
    distributed.add_argument("--serve-only", action="store_true", help=argparse.SUPPRESS)
    return parser


def process_role():
    """`single`, or `chief` / `worker` when keras-tuner's environment variables say so."""
    if "KERASTUNER_ORACLE_IP" not in os.environ:
        return "single"
    for name in ("KERASTUNER_ORACLE_PORT", "KERASTUNER_TUNER_ID"):
        if not os.environ.get(name):
            raise UsageError(f"KERASTUNER_ORACLE_IP is set but {name} is not (a distributed search needs both)")
    return "chief" if "chief" in os.environ["KERASTUNER_TUNER_ID"] else "worker"


def check_args(parser, args, default_max_trials):
    """Checks flags against each other; returns the process role (`single`,
    `parent`, `chief` or `worker`). Errors print one line and exit 2."""
    for low, high in (
        ("min_depth", "max_depth"),
        ("min_units", "max_units"),
        ("min_dropout", "max_dropout"),
        ("min_learning_rate", "max_learning_rate"),
        ("min_intent_weight", "max_intent_weight"),
    ):
        if getattr(args, low) > getattr(args, high):
            parser.error(
                f"--{low.replace('_', '-')} {getattr(args, low)} is above "
                f"--{high.replace('_', '-')} {getattr(args, high)}"
            )
    if args.objective == "val_frame_accuracy" and not args.intent:
        parser.error("--objective val_frame_accuracy: needs the intent head; leave out --no-intent")
    if args.tuner == "hyperband" and args.max_trials is not None:
        parser.error(
            f"--max-trials {args.max_trials}: hyperband decides the number of trials from --epochs; "
            "leave --max-trials out"
        )
    if args.max_trials is None and args.tuner != "hyperband":
        args.max_trials = default_max_trials
    if args.project_name is None:
        args.project_name = re.sub(r"[^A-Za-z0-9_.-]+", "_", Path(args.data).stem or str(args.data)).strip("._")
        args.project_name = args.project_name or "search"
    elif not re.fullmatch(r"[A-Za-z0-9_][A-Za-z0-9_.-]*", args.project_name):
        parser.error(f"--project-name {args.project_name!r}: use letters, digits, '_', '-' and '.' only")
    if args.workers is not None and not args.distributed:
        parser.error(f"--workers {args.workers}: only with --distributed")
    try:
        role = process_role()
    except UsageError as error:
        parser.error(str(error))
    if args.distributed:
        if role != "single":
            parser.error(
                "--distributed starts its own chief and workers: unset KERASTUNER_ORACLE_IP, "
                "KERASTUNER_ORACLE_PORT and KERASTUNER_TUNER_ID"
            )
        args.workers = args.workers or 2
        return "parent"
    if args.serve_only and role != "chief":
        parser.error("--serve-only is for the chief that --distributed starts")
    if args.overwrite and role == "worker":
        parser.error(
            f"--overwrite: only the chief may start a search over, not worker {os.environ['KERASTUNER_TUNER_ID']}"
        )
    return role


def check_data(args, dataset):
    """Checks the flags against the loaded data, before anything is written; returns
    whether the trials train an intent head (`--intent` and training data with intents).
    Raises `UsageError` (one line, exit 2) where `--objective val_frame_accuracy`
    meets training or dev sentences without intents."""
    if args.objective == "val_frame_accuracy":
        for name in ("train", "dev"):
            if getattr(dataset, name).intents is None:
                raise UsageError(
                    f"--objective val_frame_accuracy: the {name} sentences of --data {args.data} have no "
                    "intents; use --objective val_slot_f1"
                )
    return bool(args.intent and dataset.train.intents is not None)


def launcher_free(argv):
    """`argv` without the launcher's own flags: what its chief and workers are started with."""
    kept, skip = [], 0
    for item in argv:
        if skip:
            skip -= 1
            continue
        name = item.split("=", 1)[0]
        if name in LAUNCHER_FLAGS:
            skip = LAUNCHER_FLAGS[name] if "=" not in item else 0
            continue
        kept.append(item)
    return kept
