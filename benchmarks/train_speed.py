"""
Title: Training speed: a plain padded tagger against the project's bucketed pipeline
Description: Real (non-padding) words trained per second, and test slot F1, for every recurrent cell.

For each cell (elman, jordan, lstm, peephole_lstm, gru), two taggers of the same
size (bidirectional, one layer, 128 units, 100-dimensional word vectors, batch 32)
train side by side on the same data:

(a) the baseline, written the way a first tagger usually is:
    `Embedding(mask_zero=True) -> Bidirectional(cell) -> Dense(softmax)`, every
    sentence padded to the longest with `keras.utils.pad_sequences`,
    `model.fit(x, y, batch_size=32, sample_weight=...)`, sparse categorical
    crossentropy, Adam with its default learning rate. The cell is a copy of
    the recurrent layer the recipe builds, so both sides run the same cell;
(b) the project's pipeline: the recipe's own `build_model` (depth 1, 128 units,
    word vectors only and window 0, so that both read the same word ids; the
    recipe's dropout and softmax head), `model_parts.compile_model` at the recipe's
    learning rate, and the length-bucketed batches that `training.train` feeds
    to `model.fit`.

The two are trained in turn, one epoch each, so that both see the same load on
a shared machine. The first epoch is a warm-up (it compiles); the throughput is
the real words of the training split divided by the median time of the other
epochs. After the last epoch both tag the test split through
`recipes.inference.tagger.predict_sentences` and are scored with `recipes.model.scoring.score`.
The two taggers and the instruments are built in `benchmarks.train_speed_models`;
this module trains them in turn and writes the table.

Run it from the repository root:

    KERAS_BACKEND=jax python -m benchmarks.train_speed --data ../shared/datasets/atis
    KERAS_BACKEND=tensorflow python -m benchmarks.train_speed --data ../shared/datasets/atis --cells lstm,gru

It prints the table and writes `benchmarks/results/train_speed_<backend>.csv` and `.md`.
"""

import argparse
import dataclasses
import statistics

import keras

import data
from benchmarks.reporting import (
    Column,
    check_writable,
    environment_line,
    output_stem,
    peak_memory_mib,
    publish_table,
)
from benchmarks.train_speed_models import (
    BASELINE_LEARNING_RATE,
    EMBEDDING_DIM,
    UNITS,
    EpochTimer,
    baseline_arrays,
    baseline_layer,
    build_baseline,
    build_pipeline,
    matmul_rate,
    recipe_learning_rate,
    test_f1,
    training_flops_per_word,
)
from data.batching import DEFAULT_BUCKETS, encode_split
from data.command_line import Parser, UsageError, command
from recipes.config import arguments
from recipes.config.settings import OPTIONS
from recipes.training import recipe
from recipes.training import trainer as training

PROG = "python -m benchmarks.train_speed"
CELLS = ("elman", "jordan", "lstm", "peephole_lstm", "gru")
BATCH_SIZE = 32  # sentences per batch


@dataclasses.dataclass
class PipelineSetup:
    """How (b) is fed: the padded lengths of its buckets and its batch size."""

    buckets: tuple
    batch_size: int = BATCH_SIZE
    label: str = "project defaults"


def measure_cell(cell, dataset, encoder, epochs, seed, baseline_learning_rate, setups, log):
    """Trains (a) and every setup of (b) for `epochs` epochs, one epoch each in
    turn; returns one table row per setup of (b), each against the same (a)."""
    train = dataset.train
    real_words = int(sum(len(words) for words in train.words))
    encoded = encode_split(encoder, train, with_intents=False)
    pipeline_learning_rate = recipe_learning_rate(cell)

    pipelines = []
    for setup in setups:
        keras.utils.set_random_seed(seed)
        model = build_pipeline(cell, encoder, pipeline_learning_rate)
        batches = training.TrainingBatches(
            encoded, setup.batch_size, ("words",), seed, 0, with_weights=True, buckets=setup.buckets
        )
        pipelines.append((setup, model, batches, training.keras_input(batches), EpochTimer()))
    keras.utils.set_random_seed(seed)
    baseline = build_baseline(
        baseline_layer(pipelines[0][1]), encoder.word_vocabulary_size, encoder.num_tags, baseline_learning_rate
    )
    x, y, weights = baseline_arrays(encoder, train)
    baseline_timer = EpochTimer()

    for epoch in range(epochs):
        baseline.fit(
            x,
            y,
            sample_weight=weights,
            batch_size=BATCH_SIZE,
            epochs=epoch + 1,
            initial_epoch=epoch,
            callbacks=[baseline_timer],
            verbose=0,
        )
        for _, model, _, inputs, timer in pipelines:
            model.fit(inputs, epochs=epoch + 1, initial_epoch=epoch, callbacks=[timer], verbose=0)
        log(
            f"  {cell} epoch {epoch + 1}/{epochs}: baseline {baseline_timer.seconds[-1]:.2f} s, pipeline "
            + ", ".join(f"{timer.seconds[-1]:.2f} s" for *_, timer in pipelines)
        )

    baseline_seconds = statistics.median(baseline_timer.seconds[1:])
    baseline_cpu_seconds = statistics.median(baseline_timer.cpu_seconds[1:])
    baseline_f1 = test_f1(baseline, encoder, dataset.test)
    rows = []
    for setup, model, batches, _, timer in pipelines:
        if batches.epoch < epochs:  # every fit call reshuffles at its start and after its epoch
            raise RuntimeError(f"the pipeline's batches were reshuffled {batches.epoch} times in {epochs} epochs")
        pipeline_seconds = statistics.median(timer.seconds[1:])
        pipeline_cpu_seconds = statistics.median(timer.cpu_seconds[1:])
        pipeline_f1 = test_f1(model, encoder, dataset.test)
        rows.append(
            {
                "cell": cell,
                "pipeline": setup.label,
                "buckets": ",".join(map(str, setup.buckets)),
                "pipeline_batch_size": setup.batch_size,
                "baseline_words_per_second": real_words / baseline_seconds,
                "pipeline_words_per_second": real_words / pipeline_seconds,
                "speedup": baseline_seconds / pipeline_seconds,
                "baseline_epoch_seconds": baseline_seconds,
                "pipeline_epoch_seconds": pipeline_seconds,
                "baseline_cpu_seconds": baseline_cpu_seconds,
                "pipeline_cpu_seconds": pipeline_cpu_seconds,
                "cpu_speedup": baseline_cpu_seconds / pipeline_cpu_seconds,
                "baseline_warmup_seconds": baseline_timer.seconds[0],
                "pipeline_warmup_seconds": timer.seconds[0],
                "baseline_test_f1": 100 * baseline_f1,
                "pipeline_test_f1": 100 * pipeline_f1,
                "f1_difference": 100 * (pipeline_f1 - baseline_f1),
                "baseline_gflops": training_flops_per_word(baseline) * real_words / baseline_seconds / 1e9,
                "pipeline_gflops": training_flops_per_word(model) * real_words / pipeline_seconds / 1e9,
                "baseline_real_share": real_words / x.size,
                "pipeline_real_share": real_words / sum(batch.weights.size for batch in batches.batches),
                "pipeline_batches": len(batches),
                "pipeline_learning_rate": pipeline_learning_rate,
                "baseline_parameters": int(baseline.count_params()),
                "pipeline_parameters": int(model.count_params()),
                "epochs": epochs,
                "peak_memory_mib": peak_memory_mib(),
            }
        )
    keras.backend.clear_session()
    return rows


COLUMNS = [
    Column("cell", "cell", align_right=False),
    Column("pipeline", "(b) setup", align_right=False),
    Column("buckets", "(b) buckets", in_markdown=False),
    Column("pipeline_batch_size", "(b) batch size", in_markdown=False),
    Column("pipeline_batches", "(b) batches/epoch", in_markdown=False),
    Column("pipeline_learning_rate", "(b) learning rate", "{:g}"),
    Column("baseline_words_per_second", "(a) words/s", "{:,.0f}"),
    Column("pipeline_words_per_second", "(b) words/s", "{:,.0f}"),
    Column("speedup", "b/a", "{:.2f}x"),
    Column("baseline_epoch_seconds", "(a) s/epoch", "{:.2f}"),
    Column("pipeline_epoch_seconds", "(b) s/epoch", "{:.2f}"),
    Column("baseline_cpu_seconds", "(a) CPU s/epoch", "{:.2f}", in_markdown=False),
    Column("pipeline_cpu_seconds", "(b) CPU s/epoch", "{:.2f}", in_markdown=False),
    Column("cpu_speedup", "b/a CPU", "{:.2f}x"),
    Column("baseline_warmup_seconds", "(a) warm-up s", "{:.1f}"),
    Column("pipeline_warmup_seconds", "(b) warm-up s", "{:.1f}"),
    Column("baseline_test_f1", "(a) test F1", "{:.2f}"),
    Column("pipeline_test_f1", "(b) test F1", "{:.2f}"),
    Column("f1_difference", "F1 b-a", "{:+.2f}"),
    Column("baseline_gflops", "(a) GFLOP/s", "{:.1f}"),
    Column("pipeline_gflops", "(b) GFLOP/s", "{:.1f}"),
    Column("pipeline_of_peak", "(b) of matmul peak", "{:.0%}"),
    Column("baseline_real_share", "(a) real steps", "{:.0%}"),
    Column("pipeline_real_share", "(b) real steps", "{:.0%}"),
    Column("baseline_parameters", "(a) params", "{:,}", in_markdown=False),
    Column("pipeline_parameters", "(b) params", "{:,}", in_markdown=False),
    Column("epochs", "epochs"),
    Column("peak_memory_mib", "peak RSS MiB", "{:,.0f}"),
]


def _join(numbers):
    return ",".join(map(str, numbers))


def parse_cells(text):
    cells = [cell.strip() for cell in text.split(",") if cell.strip()]
    unknown = [cell for cell in cells if cell not in CELLS]
    if unknown or not cells:
        raise argparse.ArgumentTypeError(f"expected a comma-separated list among {', '.join(CELLS)}, got {text!r}")
    return list(dict.fromkeys(cells))


def parse_variant(text):
    """`"buckets=7,9,11,14,18,27,46"`, `"batch_size=64"`, or both joined by `;`."""
    options = {}
    for part in text.split(";"):
        key, equals, value = part.strip().partition("=")
        key = key.strip().replace("-", "_")
        if not equals or key not in ("buckets", "batch_size") or key in options:
            raise argparse.ArgumentTypeError(
                f"expected 'buckets=L1,L2,...' and/or 'batch_size=N' joined by ';', got {text!r}"
            )
        options[key] = arguments.bucket_list(value) if key == "buckets" else arguments.positive_int(value)
    return options


def make_parser():
    parser = Parser(
        prog=PROG,
        description="Real words trained per second and test slot F1: a padded baseline against the project's "
        "bucketed pipeline, for every cell. The backend is KERAS_BACKEND's.",
    )
    parser.add_argument("--data", required=True, help="dataset folder (train/dev/test) or built-in name")
    parser.add_argument(
        "--columns", type=arguments.column_spec, metavar="SPEC", default=None, help=OPTIONS["columns"].help
    )
    parser.add_argument(
        "--cells",
        type=parse_cells,
        default=list(CELLS),
        help=f"comma-separated cells among {','.join(CELLS)} (default: all)",
    )
    parser.add_argument(
        "--epochs",
        type=arguments.bounded(int, low=2),
        default=4,
        help="epochs per model: one warm-up, the median of the others is timed (default: 4)",
    )
    parser.add_argument(
        "--max-train",
        type=arguments.positive_int,
        default=None,
        help="use at most this many training sentences (quick trials)",
    )
    parser.add_argument(
        "--buckets",
        type=arguments.bucket_list,
        default=DEFAULT_BUCKETS,
        help="the pipeline's padded lengths, as the recipes' --buckets "
        f"(default: {','.join(map(str, DEFAULT_BUCKETS))})",
    )
    parser.add_argument(
        "--variant",
        type=parse_variant,
        action="append",
        default=[],
        help="also train (b) fed otherwise, in turn with the others, one more row per cell: "
        "'buckets=7,9,11,14,18,27,46', 'batch_size=64' or both joined by ';' (repeatable)",
    )
    parser.add_argument("--seed", type=arguments.non_negative_int, default=0, help="weights and shuffling seed")
    parser.add_argument(
        "--baseline-learning-rate",
        type=arguments.positive_float,
        default=BASELINE_LEARNING_RATE,
        help="Adam learning rate of the baseline (default: Keras's own, 0.001)",
    )
    parser.add_argument(
        "--output",
        default=None,
        help="path stem of the .csv and .md results (default: benchmarks/results/train_speed_<backend>)",
    )
    return parser


@command(PROG)
def main(argv=None):
    args = make_parser().parse_args(argv)
    backend = keras.backend.backend()
    stem = output_stem(args.output, f"train_speed_{backend}")
    problem = check_writable(stem)
    if problem:
        raise UsageError(problem)
    try:
        dataset = data.load_dataset(args.data, seed=args.seed, columns=args.columns)
    except data.DatasetError as error:
        raise UsageError(f"--data: {error}") from None
    if args.max_train:
        dataset.train = dataset.train.head(args.max_train)
    encoder = recipe.fit_encoder(dataset.train)
    real_words = sum(len(words) for words in dataset.train.words)
    longest = max(len(words) for words in dataset.train.words)
    environment = environment_line()
    print(environment, flush=True)
    print(
        f"{dataset.name}: {len(dataset.train)} training sentences, {real_words:,} words "
        f"(mean {real_words / len(dataset.train):.1f}, longest {longest}), {len(dataset.test)} test sentences; "
        f"cells {', '.join(args.cells)}; {args.epochs} epochs each (1 warm-up)",
        flush=True,
    )

    # The machine's arithmetic rate, measured here and now: one large matmul (about the best this machine does),
    # and the one a BiLSTM's loop does at every step (a batch of states by the recurrent kernel of 4 gates).
    peak_gflops = matmul_rate(2048, 2048, 2048, repeats=3)
    step_gflops = matmul_rate(BATCH_SIZE, UNITS, 4 * UNITS, repeats=300)
    print(
        f"matmul: {peak_gflops:.1f} GFLOP/s at 2048 x 2048 by 2048 x 2048, {step_gflops:.1f} GFLOP/s at "
        f"{BATCH_SIZE} x {UNITS} by {UNITS} x {4 * UNITS} (one LSTM loop step)",
        flush=True,
    )

    first_label = "project defaults" if args.buckets == DEFAULT_BUCKETS else "buckets " + _join(args.buckets)
    setups = [PipelineSetup(args.buckets, BATCH_SIZE, first_label)]
    for variant in args.variant:
        buckets = variant.get("buckets", args.buckets)
        batch_size = variant.get("batch_size", BATCH_SIZE)
        label = "; ".join(
            part
            for part in (
                f"buckets {_join(buckets)}" if buckets != args.buckets else "",
                f"batch {batch_size}" if batch_size != BATCH_SIZE else "",
            )
            if part
        )
        setups.append(PipelineSetup(buckets, batch_size, label or "same as the first"))
    rows = []
    for cell in args.cells:
        rows.extend(
            measure_cell(
                cell,
                dataset,
                encoder,
                args.epochs,
                args.seed,
                args.baseline_learning_rate,
                setups,
                log=lambda line: print(line, flush=True),
            )
        )

    for row in rows:
        row["pipeline_of_peak"] = row["pipeline_gflops"] / peak_gflops
    notes = [
        environment,
        f"data: {dataset.name}, {len(dataset.train)} training sentences, {real_words:,} real words "
        f"(mean {real_words / len(dataset.train):.1f}, longest {longest}); test F1 on {len(dataset.test)} sentences",
        f"both: bidirectional, 1 layer, {UNITS} units, {EMBEDDING_DIM}-d word vectors, batch {BATCH_SIZE}, "
        f"{args.epochs} epochs, seed {args.seed}; trained in turn, one epoch each",
        f"(a) baseline: Embedding(mask_zero=True) -> Bidirectional(cell) -> Dense(softmax), pad_sequences to "
        f"the longest, model.fit(x, y, sample_weight), Adam lr {args.baseline_learning_rate:g}; the cell is a "
        f"copy of the recipe's layer in (b)",
        f"(b) pipeline: recipes.<cell>.build_model(depth=1, encoding='embedding', window=0, head='softmax', intent=False) (the recipe's dropout "
        f"and softmax head), model_parts.compile_model (Adam at the recipe's learning rate, column '(b) learning rate', "
        f"clipnorm 5), training.train's length-bucketed batches, batch {BATCH_SIZE}, buckets {_join(args.buckets)}"
        + (" (through training.keras_input's tf.data)" if backend == "tensorflow" else "")
        + ("; other setups of (b), one row each, train in turn with the first" if len(setups) > 1 else ""),
        "words/s: real (non-padding) training words / median wall-clock epoch seconds over the epochs after "
        "the first; b/a CPU: the same ratio on the process's CPU seconds (all threads), less swayed by other "
        "jobs on a shared machine; real steps: share of the computed time steps that are real words",
        f"GFLOP/s: the arithmetic of the real words' training steps, from the layer shapes (6 operations a word "
        f"per element of every 2-D weight of the recurrent layers and the head: forward multiply-add and twice "
        f"that backward; embeddings, biases and gates' elementwise work left out), per median epoch second; "
        f"the machine's matmul, measured before the cells with keras.ops.matmul on float32: {peak_gflops:.1f} "
        f"GFLOP/s at 2048 x 2048 by 2048 x 2048 (the column '(b) of matmul peak' divides by it), "
        f"{step_gflops:.1f} GFLOP/s at {BATCH_SIZE} x {UNITS} by {UNITS} x {4 * UNITS}, one LSTM loop step",
        f"peak RSS: ru_maxrss of this one process after the cell's row (it only grows); "
        f"at the end {peak_memory_mib():,.0f} MiB",
    ]
    lstm = next((row for row in rows if row["cell"] == "lstm"), None)  # the first setup: the project's own
    if lstm:
        met = lstm["speedup"] >= 4 and lstm["f1_difference"] >= -0.3
        notes.append(
            f"target (BiLSTM, (b) >= 4x the real words/s of (a), test F1 no more than 0.3 points below): "
            f"{'met' if met else 'NOT met'} ({lstm['speedup']:.2f}x, F1 {lstm['f1_difference']:+.2f} points)"
        )
    publish_table(stem, f"Training speed, {backend} backend", COLUMNS, rows, notes)
    return rows


if __name__ == "__main__":
    main()
