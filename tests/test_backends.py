"""Runs the layer tests again under the other Keras backend.

The suite runs under one backend (JAX unless `KERAS_BACKEND` says otherwise);
the custom layers and the training loop must also work under the other one,
so this test starts a second pytest with `KERAS_BACKEND` switched.
"""

import os
import subprocess
import sys
from pathlib import Path

import keras
import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
LAYER_TESTS = [
    "tests/test_jordan.py",
    "tests/test_peephole.py",
    "tests/test_lecture.py",
    "tests/test_crf.py",
    "tests/test_encoding_layers.py",
    "tests/test_training.py",
    "tests/test_projected_rnn.py",
]
OTHER = {"jax": "tensorflow", "tensorflow": "jax"}


@pytest.mark.skipif(os.environ.get("SLOT_RNN_NESTED_BACKEND_RUN") == "1", reason="already the nested run")
@pytest.mark.skipif(keras.backend.backend() not in OTHER, reason="runs only from the JAX or TensorFlow backend")
def test_layer_tests_pass_on_the_other_backend():
    other = OTHER[keras.backend.backend()]
    env = dict(os.environ, KERAS_BACKEND=other, SLOT_RNN_NESTED_BACKEND_RUN="1")
    files = [name for name in LAYER_TESTS if (REPO_ROOT / name).is_file()]
    completed = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *files],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=1800,
    )
    assert completed.returncode == 0, f"under {other}:\n{completed.stdout[-6000:]}\n{completed.stderr[-2000:]}"
    assert " passed" in completed.stdout
