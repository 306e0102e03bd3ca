"""Speed and quality benchmarks: scripts that print a table and save it under `benchmarks/results/`.

Run each as a module from the repository root, for example
`KERAS_BACKEND=jax python -m benchmarks.train_speed --data ../shared/datasets/atis`.
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
