"""Shared pytest fixtures.

The backend defaults to JAX (the project's fastest on a CPU) unless
`KERAS_BACKEND` is already set; `tests/test_backends.py` reruns the layer
tests under the other backend in a subprocess.
"""

import os
import sys
from pathlib import Path

os.environ.setdefault("KERAS_BACKEND", "jax")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

import keras  # noqa: E402
import pytest  # noqa: E402

ATIS_DIR = REPO_ROOT.parent / "shared" / "datasets" / "atis"


@pytest.fixture(autouse=True)
def seed_everything():
    keras.utils.set_random_seed(0)
    yield


@pytest.fixture
def atis_dir():
    if not (ATIS_DIR / "train" / "seq.in").is_file():
        pytest.skip("the ATIS corpus is not at ../shared/datasets/atis")
    return ATIS_DIR
