"""
Title: Tagging speed: batched throughput and single-sentence latency of a trained run folder
Description: Sentences tagged per second over a test split, and p50/p95 latency of one sentence, through `Tagger.tag`.

The run folder is loaded once with `recipes.predict.Tagger.load`; every
measurement then goes through `Tagger.tag`, the function `python -m
recipes.predict` and Python callers use (raw strings in; words, tags and
slots out):

- batched: the whole test split in one call, after one untimed call that
  compiles every bucket shape; the median of `--repeats` calls;
- single sentence: `--sentences` test sentences one call each, after an
  untimed pass over the same sentences; p50, p95 and mean latency. Timed
  with `Tagger.tag`'s default batch size and with `batch_size=1`;
- for reference, the model alone (`model.predict_on_batch` over prebuilt
  length-bucketed batches, each bucket's last batch filled with empty rows to
  the batch size, to a power of two, or not at all), which shows what the
  Python around it and the filler rows cost.

Run it from the repository root (a run folder from `python -m recipes.lstm`):

    KERAS_BACKEND=jax python -m benchmarks.predict_speed --model-dir runs/lstm-... --data ../shared/datasets/atis

It prints the table and writes `benchmarks/results/predict_speed_<backend>.csv` and `.md`.
"""

import inspect
import statistics
import sys
import time

import keras
import numpy as np

import data
from benchmarks.tables import (
    Column,
    check_writable,
    environment_line,
    output_stem,
    peak_memory_mib,
    save_table,
)
from data.batching import encode_split, make_batches
from recipes.machinery import errors, flags, model_parts
from recipes.predict import Tagger

BATCHED_TARGET = 5000  # sentences per second, batched
LATENCY_TARGET_MS = 15  # single-sentence p50
DEFAULT_TAG_BATCH_SIZE = inspect.signature(Tagger.tag).parameters["batch_size"].default


def take_turns(jobs, repeats):
    """Calls every job once untimed (compilation), then all of them in turn
    `repeats` times; returns the seconds of every timed call, per job."""
    for job in jobs:
        job()
    seconds = [[] for _ in jobs]
    for _ in range(repeats):
        for times, job in zip(seconds, jobs):
            started = time.perf_counter()
            job()
            times.append(time.perf_counter() - started)
    return seconds


def model_only(tagger, split, batch_size, fill):
    """A job: `predict_on_batch` alone over prebuilt length-bucketed batches,
    `fill` as `data.batching.make_batches` takes it: True pads each bucket's
    last batch with empty rows to `batch_size`, "power_of_two" to the next power
    of two, False not at all."""
    features = model_parts.model_input_features(tagger.model)
    encoded = encode_split(tagger.encoder, split, with_tags=False)
    batches = make_batches(encoded, batch_size, features=features, fill=fill)

    def job():
        for batch in batches:
            np.asarray(tagger.model.predict_on_batch(batch.inputs))

    return job


def single_sentence_latencies(tagger, sentences, batch_sizes):
    """Milliseconds of `Tagger.tag([sentence])` per sentence, for every batch
    size (None: `Tagger.tag`'s default), the batch sizes taking turns."""
    options = [{} if size is None else {"batch_size": size} for size in batch_sizes]
    for sentence in sentences:  # untimed pass: compiles the shapes these sentences need
        for kwargs in options:
            tagger.tag([sentence], **kwargs)
    latencies = [[] for _ in options]
    for sentence in sentences:
        for times, kwargs in zip(latencies, options):
            started = time.perf_counter()
            tagger.tag([sentence], **kwargs)
            times.append(time.perf_counter() - started)
    return [1000 * np.array(times) for times in latencies]


COLUMNS = [
    Column("measure", "measure", align_right=False),
    Column("batch_size", "batch size"),
    Column("sentences", "sentences"),
    Column("sentences_per_second", "sentences/s", "{:,.0f}"),
    Column("words_per_second", "words/s", "{:,.0f}"),
    Column("p50_ms", "p50 ms", "{:.2f}"),
    Column("p95_ms", "p95 ms", "{:.2f}"),
    Column("mean_ms", "mean ms", "{:.2f}"),
    Column("target", "target", align_right=False),
    Column("target_met", "met", align_right=False),
]


def make_parser():
    parser = flags.Parser(
        prog="python -m benchmarks.predict_speed",
        description="Batched tagging throughput and single-sentence latency of a run folder through "
        "recipes.predict.Tagger.tag. The backend is KERAS_BACKEND's.",
    )
    add = parser.add_argument
    add("--model-dir", required=True, help="a finished run folder (model.keras, encoder.json)")
    add("--data", required=True, help="dataset folder or built-in name whose test split is tagged")
    add("--columns", type=flags.column_spec, metavar="SPEC", default=None, help=flags.COLUMNS_HELP)
    add(
        "--batch-size",
        type=flags.positive_int,
        default=64,
        help="batch size of the batched measure (default: 64, Tagger.tag's)",
    )
    add(
        "--large-batch-size",
        type=flags.positive_int,
        default=1024,
        help="batch size of the unfilled model-only measure (default: 1024, a whole bucket of most test sets)",
    )
    add("--repeats", type=flags.positive_int, default=7, help="timed batched calls (default: 7)")
    add(
        "--sentences",
        type=flags._bounded(int, low=20),
        default=200,
        help="test sentences timed one at a time (default: 200)",
    )
    add("--seed", type=flags.non_negative_int, default=0, help="which test sentences are timed one at a time")
    add(
        "--output",
        default=None,
        help="path stem of the .csv and .md results (default: benchmarks/results/predict_speed_<backend>)",
    )
    return parser


def fail(message):
    print(f"python -m benchmarks.predict_speed: error: {message}", file=sys.stderr)
    raise SystemExit(2)


def main(argv=None):
    args = make_parser().parse_args(argv)
    backend = keras.backend.backend()
    stem = output_stem(args.output, f"predict_speed_{backend}")
    problem = check_writable(stem)
    if problem:
        fail(problem)
    try:
        test = data.load_dataset(args.data, seed=args.seed, columns=args.columns).test
    except data.DatasetError as error:
        fail(f"--data: {error}")
    started = time.perf_counter()
    try:
        tagger = Tagger.load(args.model_dir)
    except errors.UsageError as error:
        fail(str(error))
    except data.DatasetError as error:
        fail(f"--model-dir {args.model_dir}: {error}")
    load_seconds = time.perf_counter() - started
    environment = environment_line()
    print(environment, flush=True)
    sentences = [" ".join(words) for words in test.words]
    words = sum(len(w) for w in test.words)
    rng = np.random.default_rng(args.seed)
    chosen = [sentences[i] for i in rng.choice(len(sentences), size=min(args.sentences, len(sentences)), replace=False)]
    print(
        f"{args.model_dir}: loaded in {load_seconds:.1f} s; {len(sentences)} test sentences, {words:,} words",
        flush=True,
    )

    batched = [("batched, Tagger.tag", args.batch_size, lambda: tagger.tag(sentences, batch_size=args.batch_size))]
    fills = {True: "filled to the batch size", "power_of_two": "filled to a power of two", False: "unfilled"}
    for batch_size, fill in (
        (args.batch_size, "power_of_two"),
        (args.batch_size, True),
        (args.batch_size, False),
        (args.large_batch_size, False),
    ):
        label = f"batched, model.predict_on_batch only, {fills[fill]}"
        batched.append((label, batch_size, model_only(tagger, test, batch_size, fill)))
    timings = take_turns([job for _, _, job in batched], args.repeats)
    rows = []
    for (label, batch_size, _), times in zip(batched, timings):
        seconds = statistics.median(times)
        row = {
            "measure": label,
            "batch_size": batch_size,
            "sentences": len(sentences),
            "sentences_per_second": len(sentences) / seconds,
            "words_per_second": words / seconds,
            "mean_ms": 1000 * seconds,
        }
        if label == "batched, Tagger.tag":
            row["target"] = f">= {BATCHED_TARGET:,} sentences/s"
            row["target_met"] = "yes" if row["sentences_per_second"] >= BATCHED_TARGET else "NO"
        rows.append(row)
        print(f"  {label}, batch size {batch_size}: {row['sentences_per_second']:,.0f} sentences/s", flush=True)

    single = ((None, "single sentence, Tagger.tag default"), (1, "single sentence, Tagger.tag"))
    latencies = single_sentence_latencies(tagger, chosen, [size for size, _ in single])
    for (batch_size, label), times in zip(single, latencies):
        row = {
            "measure": label,
            "batch_size": batch_size or DEFAULT_TAG_BATCH_SIZE,
            "sentences": len(chosen),
            "sentences_per_second": 1000 * len(times) / times.sum(),
            "p50_ms": float(np.percentile(times, 50)),
            "p95_ms": float(np.percentile(times, 95)),
            "mean_ms": float(times.mean()),
        }
        if batch_size is None:
            row["target"] = f"p50 <= {LATENCY_TARGET_MS} ms"
            row["target_met"] = "yes" if row["p50_ms"] <= LATENCY_TARGET_MS else "NO"
        rows.append(row)
        print(
            f"  {label} (batch_size {row['batch_size']}): p50 {row['p50_ms']:.2f} ms, p95 {row['p95_ms']:.2f} ms",
            flush=True,
        )

    model = tagger.model
    notes = [
        environment,
        f"run folder {args.model_dir}: model {model.name}, {model.count_params():,} parameters, loaded once in "
        f"{load_seconds:.1f} s (Tagger.load, safe_mode=True)",
        f"data: test split of {args.data}, {len(sentences)} sentences, {words:,} words",
        f"batched: the whole test split in one Tagger.tag call, median of {args.repeats} calls after an untimed one; "
        "mean ms is the time of one such call; the batched measures take turns, call by call",
        "model.predict_on_batch only: length-bucketed batches, prebuilt, through the model alone (no encoding "
        "of words, decoding of tags or slot merging); each bucket's last batch filled with empty rows to the "
        "batch size (make_batches(fill=True)), to the next power of two (fill='power_of_two', what "
        "tagging.predict_split asks for), or not at all (fill=False)",
        f"single sentence: {len(chosen)} test sentences, one Tagger.tag call each, after an untimed pass over "
        "the same sentences, the two batch sizes taking turns sentence by sentence; sentences/s is 1 / mean latency",
        f"peak RSS of the process: {peak_memory_mib():,.0f} MiB",
    ]
    markdown = save_table(stem, f"Tagging speed, {backend} backend", COLUMNS, rows, notes)
    print()
    print(markdown)
    print(f"written: {stem}.csv, {stem}.md")
    return rows


if __name__ == "__main__":
    main()
