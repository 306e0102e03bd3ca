"""Helpers shared by several test files: the tests of bad input, interruptions and safe loading,
the tuner's searches, the HTTP service, the dataset readers and the fuzzed readers.

Trainings are tiny (60 training sentences, 8 units, one padded length), since
every JAX compile costs seconds.
"""

import json
import os
import re
from pathlib import Path

import keras
import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck

import data
from data.columns import read_column_file
from recipes import lstm
from recipes.config import flags
from recipes.config.settings import OPTIONS
from recipes.training import checkpoints

REPO_ROOT = Path(__file__).resolve().parent.parent
RECIPES = ["elman", "jordan", "lstm", "peephole_lstm", "gru", "feedforward"]

# One padded length, one layer of 8 units, 15 batches an epoch: compiles once, trains in a moment.
TINY = [
    "--depth",
    "1",
    "--units",
    "8",
    "--embedding-dim",
    "8",
    "--encoding",
    "embedding",
    "--buckets",
    "24",
    "--batch-size",
    "4",
    "--learning-rate",
    "0.05",
    "--seed",
    "3",
    "--verbose",
    "0",
]
TINY_SEARCH = [
    "--cells",
    "elman",
    "--heads",
    "softmax",
    "--max-depth",
    "1",
    "--min-units",
    "8",
    "--max-units",
    "8",
    "--no-bidirectional",
    "--embedding-dim",
    "8",
    "--encoding",
    "embedding",
    "--buckets",
    "24",
    "--batch-size",
    "64",
    "--epochs",
    "1",
    "--verbose",
    "0",
]


def exit_status(main, argv):
    """Calls a command's `main(argv)` and returns its exit status (0 when it returns normally)."""
    try:
        result = main(argv)
    except SystemExit as stop:
        return 0 if stop.code is None else stop.code
    return result if isinstance(result, int) else 0


def one_line_error(capsys, *fragments, prefix=None, kind="error: "):
    """The single line on standard error; checks that it holds every fragment and no traceback."""
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert "Traceback" not in err and kind in lines[0]
    if prefix:
        assert lines[0].startswith(prefix), lines[0]
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    return lines[0]


def leftovers(folder):
    """Temporary or half-written files anywhere under `folder`."""
    return [
        path
        for path in Path(folder).rglob("*")
        if ".partial" in path.name or re.match(r"epoch-\d+\.", path.name) or path.name.endswith(".tmp")
    ]


def recipe_argv(dataset, run_dir, *flags):
    return ["--data", str(dataset), *TINY, "--output-dir", str(run_dir), *flags]


def resume_args(run_dir):
    """Flags as `--resume` reads them: the model flags come from the run's config.json."""
    return flags.parse_settings(TINY + ["--output-dir", str(run_dir)], "python -m recipes.lstm", None)


def trained_state(run_dir):
    """A finished or stopped run as --resume sees it: scores, last weights, optimizer and seed states."""
    _, model, _, state = checkpoints.resume_model(lstm.build_model, resume_args(run_dir), Path(run_dir))
    metrics_path = Path(run_dir) / "metrics.json"
    metrics = json.loads(metrics_path.read_text()) if metrics_path.is_file() else {}
    return {
        "scores": {key: metrics.get(key) for key in ("dev", "test", "epochs", "best_epoch")},
        "epochs_done": state["epochs_done"],
        "weights": model.get_weights(),
        "optimizer": [keras.ops.convert_to_numpy(v) for v in model.optimizer.variables],
        "seeds": [keras.ops.convert_to_numpy(v) for v in checkpoints.seed_state_variables(model)],
    }


def assert_same_training(first, second):
    assert first["scores"] == second["scores"]
    assert first["epochs_done"] == second["epochs_done"]
    for part in ("weights", "optimizer", "seeds"):
        assert len(first[part]) == len(second[part]) > 0, part
        for a, b in zip(first[part], second[part]):
            np.testing.assert_array_equal(a, b, err_msg=part)


@pytest.fixture(scope="module", autouse=True)
def compilation_cache(tmp_path_factory):
    """Keeps JAX's compiled programs in a folder of this module while it runs.

    The tiny trainings here build the same small model again and again, in
    this process and in subprocesses; each XLA compile costs seconds on a CPU,
    and reusing the compiled program changes no result."""
    if keras.backend.backend() != "jax":
        yield None
        return
    import jax
    from jax.experimental.compilation_cache import compilation_cache as cache

    options = {
        "jax_compilation_cache_dir": str(tmp_path_factory.mktemp("jax-cache")),
        "jax_persistent_cache_min_compile_time_secs": 0.0,
    }
    # (setting up the cache may also change its smallest entry size: put that back too)
    before = {name: getattr(jax.config, name) for name in (*options, "jax_persistent_cache_min_entry_size_bytes")}
    for name, value in options.items():
        jax.config.update(name, value)
    cache.reset_cache()
    yield options
    for name, value in before.items():
        jax.config.update(name, value)
    cache.reset_cache()


# What TensorFlow's C++ runtime prints on import under the TensorFlow backend (a
# notice that oneDNN is on), before any line of the command itself.
TENSORFLOW_NOTICE = re.compile(
    r"WARNING: All log messages before absl::InitializeLog\(\)|[IWE]\d{4} [\d:.]+ +\d+ \S+:\d+\] "
)


def subprocess_env(compilation_cache):
    """The environment of a command run as a subprocess: this backend, and this module's compilation cache."""
    env = dict(os.environ, KERAS_BACKEND=keras.backend.backend(), TF_CPP_MIN_LOG_LEVEL="3", PYTHONPATH=str(REPO_ROOT))
    for name, value in (compilation_cache or {}).items():
        env[name.upper()] = str(value)
    for name in ("KERASTUNER_TUNER_ID", "KERASTUNER_ORACLE_IP", "KERASTUNER_ORACLE_PORT"):
        env.pop(name, None)
    return env


def random_crf_tagger():
    """Word ids -> 8-d word vectors -> a CRF over five BIO tags, its transitions drawn from N(0, 1) (a trained
    CRF's are far from zero): `(model, crf)`, what the tests of the exported Viterbi decode with."""
    from custom_layers import CRF, bio_transition_mask

    allowed, allowed_start = bio_transition_mask(["O", "B-city", "I-city", "B-date", "I-date"])
    words = keras.Input(shape=(None,), dtype="int32", name="words")
    features = keras.layers.Embedding(30, 8, mask_zero=True)(words)
    crf = CRF(5, allowed_transitions=allowed, allowed_start_transitions=allowed_start, transitions_initializer="normal")
    return keras.Model({"words": words}, crf(features)), crf


# The tuner's searches (test_tune_space.py, test_tune_search.py, test_tune_resume.py). Every search
# there is small: 120 training sentences, one epoch per trial, depth at most 2, at most 16 units, one
# padded length and one batch per epoch, so that a trial costs a few seconds even where JAX compiles
# each model.

WEIGHT_SEARCH = OPTIONS["intent_weight"].search  # the intent loss weight's default search bounds

# Flags that keep every trial tiny (the tuner's tests know them as TINY).
TINY_TUNE = [
    "--epochs",
    "1",
    "--cells",
    "elman,gru",
    "--heads",
    "softmax",
    "--max-depth",
    "2",
    "--min-units",
    "8",
    "--max-units",
    "16",
    "--embedding-dim",
    "8",
    "--buckets",
    "64",
    "--batch-size",
    "128",
    "--verbose",
    "0",
]


@pytest.fixture(scope="module")
def tune_data(tmp_path_factory):
    """The tuner's tests' `tiny_data`: 120 training sentences of the travel data, with intents."""
    folder = tmp_path_factory.mktemp("data") / "tiny"
    data.write_dataset(data.generate_travel(seed=1, train_size=120, dev_size=30, test_size=30), folder)
    return folder


def read_results(project_dir):
    """A search's results.csv, trial ids as strings."""
    return pd.read_csv(project_dir / "results.csv", dtype={"trial_id": str})


def run_tune(argv):
    """`tune.main(argv)`, returning the exit code it stops with (0 when it returns)."""
    from recipes import tune  # (keras-tuner: only where a test runs the tuner)

    try:
        tune.main(argv)
    except SystemExit as stop:
        return stop.code
    return 0


# The HTTP service (test_serve_app.py, test_serve_process.py).

SERVE_SENTENCES = ["i would like to arrive taipei on november 2nd", "leave taipei on november 2nd", ""]


def assert_same_answers(got, expected, confidence=1e-6):
    """The same words, tags, slots and intents; the confidence to float rounding, since a sentence
    padded to another length is summed in another order (about 1e-7 apart; onnxruntime against
    Keras, within 1e-5 as `recipes.export` promises)."""
    assert len(got) == len(expected)
    for answer, wanted in zip(got, expected):
        assert {key: value for key, value in answer.items() if key != "intent_confidence"} == {
            key: value for key, value in wanted.items() if key != "intent_confidence"
        }
        assert answer.get("intent_confidence") == pytest.approx(wanted.get("intent_confidence"), abs=confidence)


# Dataset folders of five ATIS-like sentences (test_dataset_reading.py, test_dataset_downloads.py).

FOLDER_TAGS = {
    "flights from boston to denver": "O O B-fromloc.city_name O B-toloc.city_name",
    "leave taipei on monday": "O B-fromloc.city_name O B-depart_date.day_name",
    "arrive in san francisco": "O O B-toloc.city_name I-toloc.city_name",
    "ground transportation in dallas": "O O O B-city_name",
    "cheapest fare to seoul": "B-cost_relative O O B-toloc.city_name",
}
FOLDER_SENTENCES = list(FOLDER_TAGS)


def write_split(folder: Path, sentences, tags, intents=None, newline="\n"):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "seq.in").write_bytes(newline.join(sentences).encode() + newline.encode())
    (folder / "seq.out").write_bytes(newline.join(tags).encode() + newline.encode())
    if intents is not None:
        (folder / "label").write_bytes(newline.join(intents).encode() + newline.encode())


def make_folder(root: Path, with_dev=True, dev_name="dev"):
    """A dataset folder of `FOLDER_SENTENCES`: all five in train, two in dev, three in test."""
    intents = ["atis_flight", "atis_flight", "atis_flight", "atis_ground_service", "atis_airfare"]
    sentences = FOLDER_SENTENCES
    write_split(root / "train", sentences, [FOLDER_TAGS[s] for s in sentences], intents)
    if with_dev:
        write_split(root / dev_name, sentences[:2], [FOLDER_TAGS[s] for s in sentences[:2]], intents[:2])
    write_split(root / "test", sentences[2:], [FOLDER_TAGS[s] for s in sentences[2:]], intents[2:])
    return root


# Corpora in the forms they are published in (test_published_corpora.py, test_columns_option.py).


def write(path: Path, text: str) -> Path:
    path.write_bytes(text.encode("utf-8"))
    return path


def read_whole(path: Path, columns=None):
    """The file's sentences in order (no carving) and the columns they were read with."""
    return read_column_file(path, str(path), columns)


WEATHER_CONLLU = (
    "# text = Is it going to rain today?\n"
    "# intent = weather/find\n"
    "1\tIs\tweather/find\tO\n"
    "2\tit\tweather/find\tO\n"
    "3\tgoing\tweather/find\tO\n"
    "4\tto\tweather/find\tO\n"
    "5\train\tweather/find\tB-weather/noun\n"
    "6\ttoday\tweather/find\tB-datetime\n"
    "7\t?\tweather/find\tO\n"
    "\n"
    "# text = set an alarm for 7 am\n"
    "# intent = alarm/set_alarm\n"
    "1\tset\talarm/set_alarm\tO\n"
    "2\tan\talarm/set_alarm\tO\n"
    "3\talarm\talarm/set_alarm\tO\n"
    "4\tfor\talarm/set_alarm\tO\n"
    "5\t7\talarm/set_alarm\tB-datetime\n"
    "6\tam\talarm/set_alarm\tI-datetime\n"
)

# The fuzzed readers' hypothesis settings (test_fuzz_dataset_files.py, test_fuzz_predict_input.py):
# derandomized, so that CI tries the same cases every time.
FUZZ_SETTINGS = dict(deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
