"""
Title: Load on the HTTP service: concurrent clients against `python -m recipes.serve` on 127.0.0.1
Description: Requests/s, sentences/s, p50/p99 latency and errors, beside `Tagger.tag`'s batched rate in the same run.

    python -m benchmarks.serve_load --model-dir runs/lstm-... [--clients 16] [--seconds 20] [--engine onnx]

The run folder is served by a real `python -m recipes.serve` process on
127.0.0.1 (a free port). The benchmark then measures, in this order:

- `Tagger.tag` in this process, the whole test split in one call (the batched
  rate the service is compared with), the median of `--repeats` calls after an
  untimed one; with `--engine onnx` (the service runs the run's ONNX export,
  `python -m recipes.export --model-dir RUN` first) also `OnnxTagger.tag`'s;
- the served engine's `.tag` in calls of `--clients` / 2 sentences, each
  padded to one length as the service pads them: the ceiling of one-sentence
  requests, whose model calls carry about that many sentences;
- for each `--sentences-per-request` value, `--clients` clients that each send
  one request after another for `--seconds` seconds (after `--warm-up` seconds
  of the same load untimed): every answer is checked (status 200, one result
  per sentence), anything else counts as an error.

Sentences come from the test split of `--data` (default: the data the run was
trained on, from its config.json), each client starting at another sentence.
Both the service and the clients share this machine's cores, as they would on
a laptop. It prints the table and writes `benchmarks/results/serve_load.csv`
and `.md`.
"""

import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import numpy as np

import data
from benchmarks.reporting import REPO_ROOT, Column, check_writable, environment_line, output_stem, publish_table
from data.batching import bucket_length
from data.command_line import Parser, UsageError, command
from recipes.config import arguments
from recipes.config.settings import OPTIONS
from recipes.inference.tagger import ENGINE_HELP, ENGINES, Tagger, load_tagger

CLIENTS_TARGET = 16
THROUGHPUT_TARGET = 0.70  # of Tagger.tag's batched sentences/s
P99_TARGET_MS = 50  # single-sentence requests, while the clients run


class Connection:
    """One keep-alive HTTP/1.1 connection that posts JSON and reads the answer.

    Our own rather than an HTTP client library's: the clients share the two
    cores with the service they measure, and this costs a fraction of a
    general-purpose client's CPU time per request (no redirects, cookies or
    pools to manage), so more of the machine is left to the service.
    """

    def __init__(self, host, port):
        self.host, self.port = host, port
        self.reader = self.writer = None

    async def post(self, path, body):
        """`(status, body bytes)`; reconnects once if the server closed the connection."""
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        head = (
            f"POST {path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
        )
        self.writer.write(head.encode("ascii") + body)
        status_line = await self.reader.readline()
        if not status_line:
            raise ConnectionError("the server closed the connection")
        status = int(status_line.split()[1])
        length, close = 0, False
        while True:
            line = await self.reader.readline()
            if line in (b"\r\n", b"\n", b""):
                break
            name, _, value = line.decode("latin-1").partition(":")
            name = name.strip().lower()
            if name == "content-length":
                length = int(value)
            elif name == "connection" and value.strip().lower() == "close":
                close = True
        payload = await self.reader.readexactly(length)
        if close:
            self.close()
        return status, payload

    def close(self):
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


async def run_clients(host, port, requests, clients, seconds):
    """`clients` clients posting `requests` (a list of `(body, sentence count)`) in turn
    for `seconds`; returns the latencies (s) of the good answers, the error count
    and the seconds the load ran."""
    latencies, failures = [], [0]
    deadline = time.perf_counter() + seconds

    async def client(index):
        connection = Connection(host, port)
        turn = index * 7  # each client starts at another sentence
        while time.perf_counter() < deadline:
            body, count = requests[turn % len(requests)]
            turn += 1
            started = time.perf_counter()
            try:
                status, payload = await connection.post("/tag", body)
                good = status == 200 and len(json.loads(payload)["results"]) == count
            except (OSError, ConnectionError, ValueError, KeyError, asyncio.IncompleteReadError):
                connection.close()
                good = False
            if good:
                latencies.append(time.perf_counter() - started)
            else:
                failures[0] += 1
        connection.close()

    started = time.perf_counter()
    await asyncio.gather(*(client(i) for i in range(clients)))
    return latencies, failures[0], time.perf_counter() - started


def start_service(model_dirs, env, log, warm_up=True, engine="keras"):
    """A `python -m recipes.serve --engine ENGINE` process serving `model_dirs` on a free port of
    127.0.0.1 (its standard error into the file `log`), and that port; with `warm_up`,
    once it has compiled every batch shape. `UsageError` with the end of its log if it does not start."""
    folders = [part for folder in model_dirs for part in ("--model-dir", str(folder))]
    options = ["--port", "0", "--engine", engine, *([] if warm_up else ["--no-warm-up"])]
    process = subprocess.Popen(
        [sys.executable, "-m", "recipes.serve", *folders, *options],
        cwd=REPO_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=log,
        text=True,
    )
    for line in process.stdout:
        if line.startswith("serving "):
            port = int(line.split(" on ")[1].split()[0].rsplit(":", 1)[1])
            break
    else:
        process.wait(timeout=30)
        log.seek(0)
        said = " ".join(log.read().split())[-300:]  # the end of what it said, on one line
        raise UsageError(f"--model-dir {model_dirs[0]}: the service did not start ({said})")
    # The load starts once every batch shape is compiled (the service's warm-up).
    started = time.perf_counter()
    while warm_up:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=30) as answer:
            shapes = json.loads(answer.read())["warm_up"]
        if shapes["done"]:
            break
        time.sleep(0.5)
    if warm_up:
        print(f"  the service compiled its {shapes['shapes']} batch shapes in {time.perf_counter() - started:.0f} s")
    return process, port


def batch_counts(port):
    """The service's batched model calls so far and the sentences they tagged (`/health`)."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=30) as answer:
        return json.loads(answer.read())["models"][0]["batches"]


def request_bodies(sentences, per_request):
    """`(JSON body, sentence count)` per request: consecutive test sentences, `per_request` each."""
    bodies = []
    for start in range(0, len(sentences), per_request):
        chunk = sentences[start : start + per_request]
        if len(chunk) == per_request:
            bodies.append((json.dumps({"sentences": chunk}).encode("utf-8"), per_request))
    return bodies


COLUMNS = [
    Column("measure", "measure", align_right=False),
    Column("clients", "clients"),
    Column("sentences_per_request", "sentences/request"),
    Column("requests", "requests"),
    Column("errors", "errors"),
    Column("requests_per_second", "requests/s", "{:,.0f}"),
    Column("sentences_per_second", "sentences/s", "{:,.0f}"),
    Column("share_of_tagger", "of Tagger.tag", "{:.0%}"),
    Column("share_of_engine", "of the served engine's .tag", "{:.0%}"),
    Column("sentences_per_call", "sentences/model call", "{:.1f}"),
    Column("p50_ms", "p50 ms", "{:.1f}"),
    Column("p99_ms", "p99 ms", "{:.1f}"),
    Column("targets", "targets", align_right=False),
    Column("met", "met", align_right=False),
]


PROG = "python -m benchmarks.serve_load"


def make_parser():
    parser = Parser(
        prog=PROG,
        description="Concurrent clients against python -m recipes.serve on 127.0.0.1, beside Tagger.tag's batched "
        "rate in the same run. The backend is KERAS_BACKEND's.",
    )
    add = parser.add_argument
    add("--model-dir", required=True, help="a finished run folder (model.keras, encoder.json)")
    add("--data", default=None, help="dataset whose test sentences are sent (default: the run's own, config.json)")
    add("--columns", type=arguments.column_spec, metavar="SPEC", default=None, help=OPTIONS["columns"].help)
    add("--clients", type=arguments.positive_int, default=CLIENTS_TARGET, help="concurrent clients (default: 16)")
    add("--seconds", type=arguments.positive_float, default=20.0, help="seconds of timed load per row (default: 20)")
    add("--warm-up", type=arguments.non_negative_float, default=5.0, help="seconds of untimed load first (default: 5)")
    add(
        "--sentences-per-request",
        default="1,8,32",
        type=lambda text: tuple(arguments.positive_int(part) for part in text.split(",")),
        help="comma-separated sentence counts, one row each (default: 1,8,32)",
    )
    add("--repeats", type=arguments.positive_int, default=7, help="timed Tagger.tag calls (default: 7)")
    add("--engine", choices=ENGINES, default="keras", help=f"the service's --engine: {ENGINE_HELP}")
    add("--output", default=None, help="path stem of the .csv and .md results (default: benchmarks/results/serve_load)")
    return parser


def tagger_rate(tagger, sentences, repeats):
    tagger.tag(sentences)  # untimed: compiles every shape the split needs
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        tagger.tag(sentences)
        times.append(time.perf_counter() - started)
    return len(sentences) / statistics.median(times)


def small_call_rate(tagger, sentences, size):
    """Sentences/s of `tagger.tag` called on `size` sentences at a time, padded to one length as the
    service pads a call of at most one batch (`BatchQueue`): the most the service can reach when its
    model calls carry `size` sentences, with HTTP costing nothing. One untimed pass first."""
    chunks = [sentences[start : start + size] for start in range(0, len(sentences) - size + 1, size)]

    def call(chunk):
        longest = max(len(sentence.split()) for sentence in chunk)
        return tagger.tag(chunk, 64, True, (bucket_length(longest),))

    for chunk in chunks:
        call(chunk)
    started = time.perf_counter()
    for chunk in chunks:
        call(chunk)
    return len(chunks) * size / (time.perf_counter() - started)


@command(PROG)
def main(argv=None):
    args = make_parser().parse_args(argv)
    stem = output_stem(args.output, "serve_load")
    problem = check_writable(stem)
    if problem:
        raise UsageError(problem)
    tagger = Tagger.load(args.model_dir)  # a run folder or export that fails: UsageError, naming the file
    served = load_tagger(args.model_dir, args.engine) if args.engine != "keras" else tagger
    source = args.data
    if source is None:
        config = json.loads((Path(args.model_dir) / "config.json").read_text(encoding="utf-8"))
        source = config["data"]
    try:
        test = data.load_dataset(source, columns=args.columns).test
    except data.DatasetError as error:
        raise UsageError(f"--data: {error}") from None
    sentences = [" ".join(words) for words in test.words]
    environment = environment_line()
    print(environment, flush=True)

    log = tempfile.TemporaryFile("w+")
    env = dict(os.environ, PYTHONPATH=str(REPO_ROOT))
    process, port = start_service([args.model_dir], env, log, engine=args.engine)
    try:
        rates, rows = {}, []
        for engine, one in {"keras": tagger, args.engine: served}.items():
            rates[engine] = tagger_rate(one, sentences, args.repeats)
            name = f"{type(one).__name__}.tag"
            print(
                f"  {name}, {len(sentences)} test sentences in one call: {rates[engine]:,.0f} sentences/s", flush=True
            )
            rows.append(
                {
                    "measure": f"{name} in-process, the test split in one call",
                    "sentences_per_request": len(sentences),
                    "requests": args.repeats,
                    "sentences_per_second": rates[engine],
                    "share_of_tagger": rates[engine] / rates["keras"],
                    "share_of_engine": 1.0 if engine == args.engine else None,
                }
            )
        batched = rates["keras"]
        # One-sentence requests from N clients make model calls of about N / 2 sentences: while one call runs,
        # the other half of the clients wait for the next (the table's "sentences/model call").
        size = max(1, args.clients // 2)
        small = small_call_rate(served, sentences, size)
        print(f"  {type(served).__name__}.tag in calls of {size} sentences: {small:,.0f} sentences/s", flush=True)
        rows.append(
            {
                "measure": f"{type(served).__name__}.tag in-process, calls of {size} sentences padded to one length",
                "sentences_per_request": size,
                "requests": len(sentences) // size,
                "sentences_per_second": small,
                "share_of_tagger": small / batched,
                "share_of_engine": small / rates[args.engine],
            }
        )
        for per_request in args.sentences_per_request:
            bodies = request_bodies(sentences, per_request)
            if not bodies:
                raise UsageError(
                    f"--sentences-per-request {per_request}: the test split has only {len(sentences)} sentences"
                )
            if args.warm_up:
                asyncio.run(run_clients("127.0.0.1", port, bodies, args.clients, args.warm_up))
            before = batch_counts(port)
            latencies, failures, seconds = asyncio.run(
                run_clients("127.0.0.1", port, bodies, args.clients, args.seconds)
            )
            after = batch_counts(port)
            milliseconds = 1000 * np.array(latencies or [float("nan")])
            row = {
                "measure": f"service, POST /tag, --engine {args.engine}",
                "clients": args.clients,
                "sentences_per_request": per_request,
                "requests": len(latencies) + failures,
                "errors": failures,
                "requests_per_second": len(latencies) / seconds,
                "sentences_per_second": len(latencies) * per_request / seconds,
                "p50_ms": float(np.percentile(milliseconds, 50)),
                "p99_ms": float(np.percentile(milliseconds, 99)),
            }
            row["share_of_tagger"] = row["sentences_per_second"] / batched
            row["share_of_engine"] = row["sentences_per_second"] / rates[args.engine]
            calls = after["calls"] - before["calls"]
            row["sentences_per_call"] = (after["sentences"] - before["sentences"]) / max(calls, 1)
            goals = [(f"0 errors at {CLIENTS_TARGET} clients", failures == 0 and args.clients >= CLIENTS_TARGET)]
            goals.append((f">= {THROUGHPUT_TARGET:.0%} of Tagger.tag", row["share_of_tagger"] >= THROUGHPUT_TARGET))
            if per_request == 1:
                goals.append((f"p99 <= {P99_TARGET_MS} ms", row["p99_ms"] <= P99_TARGET_MS))
            row["targets"] = "; ".join(goal for goal, _ in goals)
            row["met"] = "; ".join("yes" if met else "NO" for _, met in goals)
            rows.append(row)
            print(
                f"  {args.clients} clients x {per_request} sentence(s): {row['requests_per_second']:,.0f} requests/s, "
                f"{row['sentences_per_second']:,.0f} sentences/s ({row['share_of_tagger']:.0%} of Tagger.tag), "
                f"p50 {row['p50_ms']:.1f} ms, p99 {row['p99_ms']:.1f} ms, {failures} errors, "
                f"{row['sentences_per_call']:.1f} sentences per model call",
                flush=True,
            )
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()

    notes = [
        environment,
        f"run folder {args.model_dir}: {tagger.model.count_params():,} parameters; served by `python -m "
        f"recipes.serve --engine {args.engine}` (FastAPI on uvicorn, one process, defaults) on 127.0.0.1, the "
        "clients in this process "
        "(one asyncio loop, one keep-alive connection each); both share the machine",
        f"sentences: the test split of {source}, {len(sentences)} sentences; Tagger.tag: the whole split in one "
        f"call, median of {args.repeats} after an untimed one",
        f"service rows: {args.seconds:g} s of load after {args.warm_up:g} s untimed; latency = request sent to "
        "answer read; an error is any answer but 200 with one result per sentence, or a broken connection",
    ]
    publish_table(stem, "Load on the HTTP service", COLUMNS, rows, notes)
    return rows


if __name__ == "__main__":
    main()
