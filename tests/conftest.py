"""Shared pytest fixtures.

The backend defaults to JAX (the project's fastest on a CPU) unless
`KERAS_BACKEND` is already set; `tests/test_backends.py` reruns the layer
tests under the other backend in a subprocess.
"""

import gc
import os
from pathlib import Path

os.environ.setdefault("KERAS_BACKEND", "jax")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

REPO_ROOT = Path(__file__).resolve().parent.parent  # on sys.path through pytest.ini's `pythonpath`

import keras  # noqa: E402
import pytest  # noqa: E402

import data  # noqa: E402
from recipes import lstm  # noqa: E402
from recipes.inference.tagger import Tagger  # noqa: E402
from recipes.model import parts as model_parts  # noqa: E402
from recipes.training import recipe, run_folder  # noqa: E402
from support import recipe_argv, trained_state  # noqa: E402

ATIS_DIR = REPO_ROOT.parent / "shared" / "datasets" / "atis"


@pytest.fixture(autouse=True)
def seed_everything():
    keras.utils.set_random_seed(0)
    yield


@pytest.fixture(scope="module", autouse=True)
def release_compiled_programs():
    """Drops each module's models and compiled programs when it ends.

    Every XLA program on a CPU keeps memory mappings of its own, and the suite
    compiles thousands in one process. test_recipes.py and test_intents.py
    alone left 35,578 mappings without this (1,657 with it), against the
    kernel's limit of 65,530 per process (vm.max_map_count's default). Without
    it the whole suite died in JAX's compilation cache, a segmentation fault at
    nine tenths of the way, most likely at that limit."""
    yield
    keras.backend.clear_session()
    gc.collect()
    if keras.backend.backend() == "jax":
        import jax

        jax.clear_caches()


@pytest.fixture
def atis_dir():
    if not (ATIS_DIR / "train" / "seq.in").is_file():
        pytest.skip("the ATIS corpus is not at ../shared/datasets/atis")
    return ATIS_DIR


# Runs shared by the bad-input, interruption, prediction and determinism tests (tests/support.py).


@pytest.fixture(scope="session")
def tiny_data(tmp_path_factory):
    folder = tmp_path_factory.mktemp("data") / "tiny"
    data.write_dataset(data.generate_travel(seed=1, train_size=60, dev_size=20, test_size=20), folder)
    return folder


@pytest.fixture(scope="session")
def straight_run(tiny_data, tmp_path_factory):
    """Three epochs of the LSTM recipe, uninterrupted: what resumed runs must end as."""
    folder = tmp_path_factory.mktemp("straight") / "run"
    lstm.main(recipe_argv(tiny_data, folder, "--epochs", "3"))
    return folder


@pytest.fixture(scope="session")
def straight_state(straight_run):
    return trained_state(straight_run)


@pytest.fixture(scope="session")
def tagger(straight_run):
    return Tagger.load(straight_run)


@pytest.fixture(scope="session")
def untrained_run(tiny_data, tmp_path_factory):
    """A run folder holding an untrained model with word and trigram inputs:
    enough to test what loading checks, without training anything."""
    folder = tmp_path_factory.mktemp("untrained") / "run"
    folder.mkdir()
    encoder = recipe.fit_encoder(data.load_dataset(str(tiny_data)).train)
    encoder.save(folder / "encoder.json")
    model = lstm.build_model(encoder, depth=1, units=8, encoding="embedding+trigram", embedding_dim=8)
    run_folder.save_model(model_parts.inference_view(model), folder / "model.keras")
    return folder


@pytest.fixture
def a_file(tmp_path):
    """A regular file: a folder below it can never be created, even by root."""
    path = tmp_path / "a-file"
    path.write_text("not a folder\n")
    return path
