"""
Title: The projected loop on a recipe's own model
Description: Median train step of a recipe's model built with Keras's recurrent layers and with custom_layers'.

The recipe's `build_model` (defaults, or the flags below) is built twice with
the same weights: once with `keras.layers.LSTM`/`GRU`/`SimpleRNN` and
`keras.layers.Bidirectional`, once with `custom_layers`' layers of those names
(the input projection before the loop, both directions in one loop). Both are
fed the same training batch of each bucket length, taking turns step by step,
so that both see the same load on a shared machine.

    KERAS_BACKEND=jax python -m benchmarks.projected_loop                    # the main job's model, travel
    KERAS_BACKEND=jax python -m benchmarks.projected_loop --recipe gru --data ../shared/datasets/atis

It prints the table and writes `benchmarks/results/projected_loop_<backend>.csv` and `.md`.
"""

import importlib
import statistics
import time
from unittest import mock

import keras

import custom_layers
import data
from benchmarks.reporting import Column, check_writable, environment_line, output_stem, publish_table
from data.batching import encode_split
from data.command_line import Parser, UsageError, command
from recipes.config import arguments
from recipes.model import description as model_description
from recipes.model import parts as model_parts
from recipes.training import trainer as training

RECIPES = ("lstm", "gru", "elman")
KERAS_NAMES = {"lstm": "LSTM", "gru": "GRU", "elman": "SimpleRNN"}


def build(recipe, encoder, keras_layers):
    """The recipe's default model, with Keras's own recurrent layers when `keras_layers`."""
    module = importlib.import_module(f"recipes.{recipe}")
    if not keras_layers:
        return module.build_model(encoder)
    name = KERAS_NAMES[recipe]
    with (
        mock.patch.object(custom_layers, name, getattr(keras.layers, name)),
        mock.patch.object(custom_layers, "Bidirectional", keras.layers.Bidirectional),
    ):
        return module.build_model(encoder)


COLUMNS = [
    Column("length", "padded length", "{}"),
    Column("keras_ms", "Keras's layers, ms (median)", "{:.1f}"),
    Column("projected_ms", "custom_layers', ms (median)", "{:.1f}"),
    Column("speedup", "speed-up", "{:.2f}x"),
]


PROG = "python -m benchmarks.projected_loop"


@command(PROG)
def main(argv=None):
    parser = Parser(prog=PROG, description=__doc__.split("\n")[2])
    parser.add_argument("--recipe", choices=RECIPES, default="lstm", help="the recipe whose model is built")
    parser.add_argument("--data", default="travel", help="dataset (default: the built-in travel data)")
    parser.add_argument("--repeats", type=arguments.positive_int, default=15, help="timed steps per model and length")
    parser.add_argument("--output", default=None, help="path stem of the .csv and .md results")
    args = parser.parse_args(argv)
    stem = output_stem(args.output, f"projected_loop_{keras.backend.backend()}")
    problem = check_writable(stem)
    if problem:
        raise UsageError(problem)
    environment = environment_line()
    print(environment, flush=True)
    try:
        dataset = data.load_dataset(args.data)
    except data.DatasetError as error:
        raise UsageError(f"--data: {error}") from None
    encoder = data.Encoder.fit(dataset.train.words, dataset.train.tags, dataset.train.intents)
    models = {"keras": build(args.recipe, encoder, True), "projected": build(args.recipe, encoder, False)}
    for model in models.values():
        model_parts.compile_model(model, 0.001)
    models["projected"].set_weights(models["keras"].get_weights())
    features = model_description.model_input_features(models["keras"])
    # As `training.fit` builds them: per-word sample weights for the softmax head only (the CRF masks by itself).
    with_weights = model_description.crf_layer(models["keras"]) is None
    batches = training.TrainingBatches(
        encode_split(encoder, dataset.train), 32, features, seed=0, with_weights=with_weights
    )
    first_of_length = {}
    for index in range(len(batches)):
        batch = batches[index]
        first_of_length.setdefault(batch[0][features[0]].shape[1], batch)
    rows = []
    for length in sorted(first_of_length)[:4]:
        batch = first_of_length[length]
        times = {name: [] for name in models}
        for model in models.values():  # compile, then one more
            model.train_on_batch(*batch)
            model.train_on_batch(*batch)
        for _ in range(args.repeats):
            for name, model in models.items():
                started = time.perf_counter()
                model.train_on_batch(*batch)
                times[name].append(time.perf_counter() - started)
        keras_ms, projected_ms = (1000 * statistics.median(times[name]) for name in ("keras", "projected"))
        rows.append({"length": length, "keras_ms": keras_ms, "projected_ms": projected_ms})
        rows[-1]["speedup"] = keras_ms / projected_ms
        print(f"  length {length}: Keras {keras_ms:.1f} ms, projected {projected_ms:.1f} ms", flush=True)
    notes = [
        environment,
        f"recipes.{args.recipe}.build_model defaults on {args.data}, batch 32, the first batch of each of the four "
        f"shortest bucket lengths; two untimed steps, then {args.repeats} timed train_on_batch steps per model, "
        "the two models taking turns; same weights",
    ]
    publish_table(stem, f"The projected loop, recipes.{args.recipe}", COLUMNS, rows, notes)
    return rows


if __name__ == "__main__":
    main()
