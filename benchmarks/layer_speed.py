"""

Title: Layer speed: the custom recurrent layers against Keras's own
Description: Median time of a training step (forward and backward) and of a forward pass, per recurrent layer.

Two comparisons, on the same backend, shapes and data:

- `custom_layers.PeepholeLSTM` against `custom_layers.LSTM` (target: at most 1.1x);
- `custom_layers.JordanRNN(units, output_units=units)` against
  `custom_layers.SimpleRNN(units)` followed by `Dense(units, activation="softmax")`,
  the Elman network with the same output head the Jordan cell computes inside
  its loop (target: at most 1.3x).

All four compute the input projection for every step before the loop
(`custom_layers/projected_rnn.py`). Keras's own `LSTM`, `SimpleRNN` + `Dense`
and `GRU` (`keras_lstm`, ...: the projection inside the loop) are timed beside
them, so that `lstm` against `keras_lstm` is what the projected loop saves, and
a `GRU` and a bare `SimpleRNN` for reference.
Each model is `Input -> [Masking] -> layer(return_sequences=True) -> ...`,
compiled with Adam and a mean squared error, and fed one fixed batch. After a
few warm-up steps (compilation), the models take turns, one step each, so that
all of them see the same load on a shared machine; the table shows medians.
With `--masked` (the default runs both) a quarter to all of each sequence is
real and the rest is padding behind a `Masking` layer, as in a tagger.

Run it from the repository root:

    KERAS_BACKEND=jax python -m benchmarks.layer_speed
    KERAS_BACKEND=tensorflow python -m benchmarks.layer_speed

It prints the table and writes `benchmarks/results/layer_speed_<backend>.csv` and `.md`.
"""

import statistics
import time

import keras
import numpy as np

import custom_layers
from benchmarks.reporting import (
    Column,
    check_writable,
    environment_line,
    output_stem,
    peak_memory_mib,
    publish_table,
)
from custom_layers import JordanRNN, PeepholeLSTM
from data.command_line import Parser, UsageError, command
from recipes.config import arguments

# Layers timed, and (layer, reference, most its train step may cost relative to the reference, or None: shown only).
# The unprefixed LSTM, SimpleRNN and GRU are the recipes' (`custom_layers`: the input projection before the loop,
# as JordanRNN and PeepholeLSTM do it); `keras_` names Keras's own layer, the loop with the projection inside.
LAYERS = (
    "lstm",
    "peephole_lstm",
    "simple_rnn+dense",
    "jordan",
    "simple_rnn",
    "gru",
    "keras_lstm",
    "keras_simple_rnn+dense",
    "keras_gru",
)
COMPARISONS = (
    ("peephole_lstm", "lstm", 1.1),
    ("jordan", "simple_rnn+dense", 1.3),
    ("lstm", "keras_lstm", None),
    ("simple_rnn+dense", "keras_simple_rnn+dense", None),
    ("gru", "keras_gru", None),
)


def recurrent_part(name, units, sequences):
    """The layer (and head) under test applied to `sequences`."""
    cells = keras.layers if name.startswith("keras_") else custom_layers
    name = name.removeprefix("keras_")
    if name == "lstm":
        return cells.LSTM(units, return_sequences=True)(sequences)
    if name == "peephole_lstm":
        return PeepholeLSTM(units, return_sequences=True)(sequences)
    if name == "simple_rnn":
        return cells.SimpleRNN(units, return_sequences=True)(sequences)
    if name == "simple_rnn+dense":
        hidden = cells.SimpleRNN(units, return_sequences=True)(sequences)
        return keras.layers.Dense(units, activation="softmax")(hidden)
    if name == "jordan":
        return JordanRNN(units, output_units=units, return_sequences=True)(sequences)
    if name == "gru":
        return cells.GRU(units, return_sequences=True)(sequences)
    raise ValueError(f"unknown layer {name!r}")


def build(name, steps, features, units, masked):
    sequences = keras.Input(shape=(steps, features), name="sequences")
    x = keras.layers.Masking(0.0)(sequences) if masked else sequences
    model = keras.Model(sequences, recurrent_part(name, units, x), name=name.replace("+", "_"))
    model.compile(optimizer="adam", loss="mse")
    return model


def fixed_batch(batch_size, steps, features, units, masked, seed):
    """Random inputs and targets; with `masked`, each row keeps a random real prefix."""
    rng = np.random.default_rng(seed)
    inputs = rng.normal(size=(batch_size, steps, features)).astype("float32")
    targets = rng.uniform(size=(batch_size, steps, units)).astype("float32")
    if masked:
        lengths = rng.integers(max(1, steps // 4), steps + 1, size=batch_size)
        lengths[0] = steps
        inputs[np.arange(steps)[None, :] >= lengths[:, None]] = 0.0
    return inputs, targets


def time_layers(names, batch_size, steps, features, units, masked, repeats, warmup, seed, log):
    inputs, targets = fixed_batch(batch_size, steps, features, units, masked, seed)
    models = {}
    for name in names:
        keras.utils.set_random_seed(seed)
        model = build(name, steps, features, units, masked)
        started = time.perf_counter()
        for _ in range(warmup):
            model.train_on_batch(inputs, targets)
            model.predict_on_batch(inputs)
        models[name] = (model, time.perf_counter() - started)
    train_times = {name: [] for name in names}
    forward_times = {name: [] for name in names}
    for _ in range(repeats):
        for name in names:
            model = models[name][0]
            started = time.perf_counter()
            model.train_on_batch(inputs, targets)  # returns the loss as a number: the step has finished
            train_times[name].append(time.perf_counter() - started)
            started = time.perf_counter()
            np.asarray(model.predict_on_batch(inputs))
            forward_times[name].append(time.perf_counter() - started)
    rows = []
    for name in names:
        model, warmup_seconds = models[name]
        rows.append(
            {
                "layer": name,
                "masked": "yes" if masked else "no",
                "train_step_ms": 1000 * statistics.median(train_times[name]),
                "train_step_p90_ms": 1000 * float(np.percentile(train_times[name], 90)),
                "forward_ms": 1000 * statistics.median(forward_times[name]),
                "warmup_seconds": warmup_seconds,
                "parameters": int(model.count_params()),
            }
        )
        log(
            f"  {name:<17} masked={'yes' if masked else 'no ':<3} train step {rows[-1]['train_step_ms']:7.2f} ms  "
            f"forward {rows[-1]['forward_ms']:7.2f} ms"
        )
    by_name = {row["layer"]: row for row in rows}
    for name, reference, target in COMPARISONS:
        if name in by_name and reference in by_name:
            row = by_name[name]
            row["compared_with"] = reference
            row["train_ratio"] = row["train_step_ms"] / by_name[reference]["train_step_ms"]
            row["forward_ratio"] = row["forward_ms"] / by_name[reference]["forward_ms"]
            if target is not None:
                row["target"] = target
                row["target_met"] = "yes" if row["train_ratio"] <= target else "NO"
    return rows


COLUMNS = [
    Column("layer", "layer", align_right=False),
    Column("masked", "masked", align_right=False),
    Column("train_step_ms", "train step ms (median)", "{:.2f}"),
    Column("train_step_p90_ms", "train step ms (p90)", "{:.2f}"),
    Column("forward_ms", "forward ms (median)", "{:.2f}"),
    Column("compared_with", "compared with", align_right=False),
    Column("train_ratio", "train ratio", "{:.2f}x"),
    Column("forward_ratio", "forward ratio", "{:.2f}x"),
    Column("target", "target", "<= {:.2f}x"),
    Column("target_met", "met", align_right=False),
    Column("warmup_seconds", "warm-up s", "{:.1f}"),
    Column("parameters", "params", "{:,}"),
]


def parse_layers(text):
    names = [name.strip() for name in text.split(",") if name.strip()]
    unknown = [name for name in names if name not in LAYERS]
    if unknown or not names:
        import argparse

        raise argparse.ArgumentTypeError(f"expected a comma-separated list among {', '.join(LAYERS)}, got {text!r}")
    return list(dict.fromkeys(names))


PROG = "python -m benchmarks.layer_speed"


def make_parser():
    parser = Parser(
        prog=PROG,
        description="Median train-step and forward time of PeepholeLSTM vs LSTM and JordanRNN vs SimpleRNN+Dense "
        "on fixed data. The backend is KERAS_BACKEND's.",
    )
    add = parser.add_argument
    add("--layers", type=parse_layers, default=list(LAYERS), help=f"comma-separated, among {','.join(LAYERS)}")
    add("--batch-size", type=arguments.positive_int, default=32, help="sequences per batch (default: 32)")
    add("--steps", type=arguments.positive_int, default=20, help="time steps per sequence (default: 20)")
    add("--features", type=arguments.positive_int, default=100, help="input features per step (default: 100)")
    add("--units", type=arguments.positive_int, default=128, help="units of every layer (default: 128)")
    add("--repeats", type=arguments.bounded(int, low=3), default=40, help="timed steps per model (default: 40)")
    add("--warmup", type=arguments.positive_int, default=3, help="untimed steps per model first (default: 3)")
    add(
        "--masked",
        choices=("both", "yes", "no"),
        default="both",
        help="time with a padding mask, without, or both (default: both)",
    )
    add("--seed", type=arguments.non_negative_int, default=0, help="weights and data seed")
    add(
        "--output",
        default=None,
        help="path stem of the .csv and .md results (default: benchmarks/results/layer_speed_<backend>)",
    )
    return parser


@command(PROG)
def main(argv=None):
    args = make_parser().parse_args(argv)
    backend = keras.backend.backend()
    stem = output_stem(args.output, f"layer_speed_{backend}")
    problem = check_writable(stem)
    if problem:
        raise UsageError(problem)
    environment = environment_line()
    print(environment, flush=True)
    shape = f"batch {args.batch_size}, {args.steps} steps, {args.features} inputs, {args.units} units"
    print(f"{shape}; {args.warmup} warm-up and {args.repeats} timed steps per model", flush=True)
    rows = []
    for masked in {"both": (False, True), "yes": (True,), "no": (False,)}[args.masked]:
        rows.extend(
            time_layers(
                args.layers,
                args.batch_size,
                args.steps,
                args.features,
                args.units,
                masked,
                args.repeats,
                args.warmup,
                args.seed,
                log=lambda line: print(line, flush=True),
            )
        )
    notes = [
        environment,
        f"{shape}; Adam, mean squared error, one fixed batch; {args.warmup} warm-up steps, then the models take "
        f"turns for {args.repeats} timed steps each",
        "train step: model.train_on_batch (forward, backward, update); forward: model.predict_on_batch",
        "masked: rows padded after a random length (a quarter of the steps to all), behind keras.layers.Masking",
        "targets: PeepholeLSTM <= 1.1x LSTM, JordanRNN(units, output_units=units) <= 1.3x "
        "SimpleRNN(units) + Dense(units, softmax), on the train step, all with the input projection before the "
        "loop; keras_*: Keras's own layer, the projection inside the loop (lstm against keras_lstm: the speed-up)",
        f"peak RSS of the process: {peak_memory_mib():,.0f} MiB",
    ]
    publish_table(stem, f"Layer speed, {backend} backend", COLUMNS, rows, notes)
    return rows


if __name__ == "__main__":
    main()
