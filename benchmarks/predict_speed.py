"""
Title: Tagging speed: batched throughput and single-sentence latency of a trained run folder
Description: Sentences tagged per second over a test split, and p50/p95 latency of one sentence, through `Tagger.tag` and `OnnxTagger.tag`.

The run folder is loaded once with `recipes.inference.Tagger.load` (Keras) and,
with the ONNX engine, once with `recipes.inference.OnnxTagger.load` (its export
in `RUN/export/onnx/`, from `python -m recipes.export --model-dir RUN`); every
measurement then goes through `.tag`, the function `python -m
recipes.predict --engine keras|onnx` and Python callers use (raw strings in;
words, tags and slots out). The two engines tag the same sentences in the
same process, taking turns call by call:

- batched: the whole test split in one call, after one untimed call that
  compiles every bucket shape; the median of `--repeats` calls;
- single sentence: `--sentences` test sentences one call each, after an
  untimed pass over the same sentences; p50, p95 and mean latency. Timed
  with `Tagger.tag`'s default batch size and with `batch_size=1`;
- for reference, the model alone (`model.predict_on_batch`, or the
  onnxruntime session's `run`, over prebuilt length-bucketed batches, each
  bucket's last batch filled with empty rows to the batch size, to a power of
  two, or not at all), which shows what the Python around it and the filler
  rows cost.

Run it from the repository root (a run folder from `python -m recipes.lstm`):

    python -m recipes.export --model-dir runs/lstm-...
    KERAS_BACKEND=jax python -m benchmarks.predict_speed --model-dir runs/lstm-... --data ../shared/datasets/atis

(`--engines keras` times Keras alone, without an export.)

It prints the table and writes `benchmarks/results/predict_speed_<backend>.csv` and `.md`.
"""

import argparse
import inspect
import statistics
import time

import keras
import numpy as np

import data
from benchmarks.reporting import (
    Column,
    check_writable,
    environment_line,
    output_stem,
    peak_memory_mib,
    publish_table,
)
from data.batching import encode_split, make_batches
from data.command_line import Parser, UsageError, command
from recipes.config import arguments
from recipes.config.settings import OPTIONS
from recipes.inference.tagger import OnnxTagger, Tagger
from recipes.model import description as model_description

BATCHED_TARGET = 5000  # sentences per second, batched
LATENCY_TARGET_MS = 15  # single-sentence p50
ENGINES = {"keras": Tagger.load, "onnx": OnnxTagger.load}
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


def model_only(engine, tagger, split, batch_size, fill):
    """A job: the model alone over prebuilt length-bucketed batches (`predict_on_batch`
    for Keras, the session's `run` for ONNX), `fill` as `data.batching.make_batches`
    takes it: True pads each bucket's last batch with empty rows to `batch_size`,
    "power_of_two" to the next power of two, False not at all."""
    features = model_description.model_input_features(tagger.model) if engine == "keras" else tagger.engine.features
    encoded = encode_split(tagger.encoder, split, with_tags=False)
    batches = make_batches(encoded, batch_size, features=features, fill=fill)
    if engine == "onnx":
        session, names = tagger.engine.session, tagger.engine.output_names

        def job():
            for batch in batches:
                session.run(names, batch.inputs)

        return job

    def job():
        for batch in batches:
            np.asarray(tagger.model.predict_on_batch(batch.inputs))

    return job


def single_sentence_latencies(options, sentences):
    """Milliseconds of `tagger.tag([sentence], **kwargs)` per sentence, for every
    `(tagger, kwargs)` of `options`, the options taking turns sentence by sentence."""
    for sentence in sentences:  # untimed pass: compiles the shapes these sentences need
        for tagger, kwargs in options:
            tagger.tag([sentence], **kwargs)
    latencies = [[] for _ in options]
    for sentence in sentences:
        for times, (tagger, kwargs) in zip(latencies, options):
            started = time.perf_counter()
            tagger.tag([sentence], **kwargs)
            times.append(time.perf_counter() - started)
    return [1000 * np.array(times) for times in latencies]


def engine_list(text):
    """`--engines`: a comma-separated subset of keras, onnx."""
    engines = [name.strip() for name in text.split(",") if name.strip()]
    unknown = [name for name in engines if name not in ENGINES]
    if unknown or not engines:
        raise argparse.ArgumentTypeError(f"expected keras, onnx or keras,onnx, got {text!r}")
    return list(dict.fromkeys(engines))


COLUMNS = [
    Column("engine", "engine", align_right=False),
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


PROG = "python -m benchmarks.predict_speed"


def make_parser():
    parser = Parser(
        prog=PROG,
        description="Batched tagging throughput and single-sentence latency of a run folder through "
        "recipes.inference.Tagger.tag and OnnxTagger.tag. The backend is KERAS_BACKEND's.",
    )
    add = parser.add_argument
    add("--model-dir", required=True, help="a finished run folder (model.keras, encoder.json)")
    add(
        "--engines",
        type=engine_list,
        default=["keras", "onnx"],
        help="engines to time, comma-separated (default: keras,onnx; onnx reads RUN/export/onnx/, "
        "written by python -m recipes.export --model-dir RUN)",
    )
    add("--data", required=True, help="dataset folder or built-in name whose test split is tagged")
    add("--columns", type=arguments.column_spec, metavar="SPEC", default=None, help=OPTIONS["columns"].help)
    add(
        "--batch-size",
        type=arguments.positive_int,
        default=64,
        help="batch size of the batched measure (default: 64, Tagger.tag's)",
    )
    add(
        "--large-batch-size",
        type=arguments.positive_int,
        default=1024,
        help="batch size of the unfilled model-only measure (default: 1024, a whole bucket of most test sets)",
    )
    add("--repeats", type=arguments.positive_int, default=7, help="timed batched calls (default: 7)")
    add(
        "--sentences",
        type=arguments.bounded(int, low=20),
        default=200,
        help="test sentences timed one at a time (default: 200)",
    )
    add("--seed", type=arguments.non_negative_int, default=0, help="which test sentences are timed one at a time")
    add(
        "--output",
        default=None,
        help="path stem of the .csv and .md results (default: benchmarks/results/predict_speed_<backend>)",
    )
    return parser


def load_taggers(engines, model_dir):
    """`{engine: tagger}` and the seconds each took to load; `UsageError` (a `data.DatasetError`
    among them) for a run folder or export that fails, its message naming the file."""
    taggers, load_seconds = {}, {}
    for engine in engines:
        started = time.perf_counter()
        taggers[engine] = ENGINES[engine](model_dir)
        load_seconds[engine] = time.perf_counter() - started
    return taggers, load_seconds


@command(PROG)
def main(argv=None):
    args = make_parser().parse_args(argv)
    backend = keras.backend.backend()
    stem = output_stem(args.output, f"predict_speed_{backend}")
    problem = check_writable(stem)
    if problem:
        raise UsageError(problem)
    try:
        test = data.load_dataset(args.data, seed=args.seed, columns=args.columns).test
    except data.DatasetError as error:
        raise UsageError(f"--data: {error}") from None
    # Keras is always loaded: the ONNX rows are compared with it, and the notes describe its model.
    taggers, load_seconds = load_taggers(["keras", *[e for e in args.engines if e != "keras"]], args.model_dir)
    environment = environment_line()
    print(environment, flush=True)
    sentences = [" ".join(words) for words in test.words]
    words = sum(len(w) for w in test.words)
    rng = np.random.default_rng(args.seed)
    chosen = [sentences[i] for i in rng.choice(len(sentences), size=min(args.sentences, len(sentences)), replace=False)]
    loads = ", ".join(f"{engine} in {seconds:.1f} s" for engine, seconds in load_seconds.items())
    print(f"{args.model_dir}: loaded ({loads}); {len(sentences)} test sentences, {words:,} words", flush=True)

    names = {"keras": "Tagger.tag", "onnx": "OnnxTagger.tag"}
    model_calls = {"keras": "model.predict_on_batch", "onnx": "onnxruntime session.run"}
    fills = {True: "filled to the batch size", "power_of_two": "filled to a power of two", False: "unfilled"}
    batched = []
    for engine in args.engines:
        tagger = taggers[engine]
        batched.append(
            (
                engine,
                f"batched, {names[engine]}",
                args.batch_size,
                lambda tagger=tagger: tagger.tag(sentences, batch_size=args.batch_size),
            )
        )
        for batch_size, fill in (
            (args.batch_size, "power_of_two"),
            (args.batch_size, True),
            (args.batch_size, False),
            (args.large_batch_size, False),
        ):
            label = f"batched, {model_calls[engine]} only, {fills[fill]}"
            batched.append((engine, label, batch_size, model_only(engine, tagger, test, batch_size, fill)))
    timings = take_turns([job for *_, job in batched], args.repeats)
    rows = []
    for (engine, label, batch_size, _), times in zip(batched, timings):
        seconds = statistics.median(times)
        row = {
            "engine": engine,
            "measure": label,
            "batch_size": batch_size,
            "sentences": len(sentences),
            "sentences_per_second": len(sentences) / seconds,
            "words_per_second": words / seconds,
            "mean_ms": 1000 * seconds,
        }
        if label == f"batched, {names[engine]}":
            row["target"] = f">= {BATCHED_TARGET:,} sentences/s"
            row["target_met"] = "yes" if row["sentences_per_second"] >= BATCHED_TARGET else "NO"
        rows.append(row)
        print(
            f"  {engine}: {label}, batch size {batch_size}: {row['sentences_per_second']:,.0f} sentences/s", flush=True
        )

    single = [
        (engine, batch_size, f"single sentence, {names[engine]}{' default' if batch_size is None else ''}")
        for engine in args.engines
        for batch_size in (None, 1)
    ]
    options = [(taggers[engine], {} if size is None else {"batch_size": size}) for engine, size, _ in single]
    latencies = single_sentence_latencies(options, chosen)
    for (engine, batch_size, label), times in zip(single, latencies):
        row = {
            "engine": engine,
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
            f"  {engine}: {label} (batch_size {row['batch_size']}): p50 {row['p50_ms']:.2f} ms, "
            f"p95 {row['p95_ms']:.2f} ms",
            flush=True,
        )
    if "onnx" in args.engines and "keras" in args.engines:
        rows.extend(onnx_against_keras(rows))

    model = taggers["keras"].model
    notes = [
        environment,
        f"run folder {args.model_dir}: model {model.name}, {model.count_params():,} parameters, loaded once "
        f"({loads}; Tagger.load with safe_mode=True, OnnxTagger.load from RUN/export/onnx/)",
        f"data: test split of {args.data}, {len(sentences)} sentences, {words:,} words",
        f"batched: the whole test split in one .tag call, median of {args.repeats} calls after an untimed one; "
        "mean ms is the time of one such call; the batched measures of both engines take turns, call by call",
        "model only: length-bucketed batches, prebuilt, through model.predict_on_batch (Keras) or the "
        "onnxruntime session (ONNX) alone (no encoding of words, decoding of tags or slot merging); each "
        "bucket's last batch filled with empty rows to the batch size (make_batches(fill=True)), to the next "
        "power of two (fill='power_of_two', what recipes.inference.tagger.predict asks for), or not at all (fill=False)",
        f"single sentence: {len(chosen)} test sentences, one .tag call each, after an untimed pass over "
        "the same sentences, the engines and batch sizes taking turns sentence by sentence; sentences/s is "
        "1 / mean latency",
        "ONNX against Keras: ONNX's sentences/s over Keras's, measure by measure; the issue's target is ONNX "
        "at least as fast per sentence (>= 1.00x)",
        f"peak RSS of the process: {peak_memory_mib():,.0f} MiB",
    ]
    publish_table(stem, f"Tagging speed, {backend} backend", COLUMNS, rows, notes)
    return rows


def onnx_against_keras(rows):
    """Rows of ONNX's speed over Keras's for the two .tag measures of each engine."""
    by_measure = {(row["engine"], row["measure"].replace("OnnxTagger", "Tagger")): row for row in rows}
    ratios = []
    for measure in ("batched, Tagger.tag", "single sentence, Tagger.tag default", "single sentence, Tagger.tag"):
        keras_row, onnx_row = by_measure.get(("keras", measure)), by_measure.get(("onnx", measure))
        if keras_row is None or onnx_row is None:
            continue
        ratio = onnx_row["sentences_per_second"] / keras_row["sentences_per_second"]
        ratios.append(
            {
                "engine": "onnx / keras",
                "measure": f"{measure.replace('Tagger.tag', '.tag')}: {ratio:.2f}x",
                "batch_size": onnx_row["batch_size"],
                "sentences": onnx_row["sentences"],
                "target": ">= 1.00x",
                "target_met": "yes" if ratio >= 1.0 else "NO",
            }
        )
    return ratios


if __name__ == "__main__":
    main()
