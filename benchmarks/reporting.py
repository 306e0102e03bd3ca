"""What the benchmarks share besides the table writer (`recipes.training.tables`, re-exported
here): where results go, the machine's description, peak memory.

    save_table(output_stem(args.output, "train_speed_jax"), "Training speed", columns, rows,
               notes=[environment_line()])
"""

import os
import platform
import resource
import sys
from pathlib import Path

from recipes.training.tables import Column, markdown_table, save_table

REPO_ROOT = Path(__file__).resolve().parent.parent
RESULTS_DIR = REPO_ROOT / "benchmarks" / "results"

__all__ = [
    "Column",
    "RESULTS_DIR",
    "check_writable",
    "environment_line",
    "markdown_table",
    "output_stem",
    "peak_memory_mib",
    "publish_table",
    "save_table",
]


def output_stem(option, default_name):
    """The path stem the results go to: `--output`, or `benchmarks/results/<default_name>`.

    A trailing `.csv` or `.md` on `--output` is dropped; both files are written.
    """
    if option is None:
        return RESULTS_DIR / default_name
    path = Path(option)
    if path.suffix in (".csv", ".md"):
        path = path.with_suffix("")
    return path


def check_writable(stem):
    """Creates the results folder; returns an error message, or None when it can be written."""
    folder = Path(stem).parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe = folder / f".{Path(stem).name}.write-test"
        probe.write_text("")
        probe.unlink()
    except OSError as error:
        return f"--output {stem}: cannot write in {folder} ({error.strerror or error})"
    return None


def peak_memory_mib():
    """Peak resident memory of this process so far (`ru_maxrss`), in MiB."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    # Linux reports kibibytes, macOS bytes.
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def environment_line():
    """Backend, library versions and cores, for the notes of every table."""
    import keras

    backend = keras.backend.backend()
    versions = [f"keras {keras.__version__}"]
    if backend == "jax":
        import jax

        versions.append(f"jax {jax.__version__}")
    elif backend == "tensorflow":
        import tensorflow as tf

        versions.append(f"tensorflow {tf.__version__}")
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    load = f", load average {os.getloadavg()[0]:.1f} at the start" if hasattr(os, "getloadavg") else ""
    return (
        f"backend {backend} ({', '.join(versions)}), Python {platform.python_version()}, "
        f"{cores} CPU cores available{load}, {platform.machine()}"
    )


def publish_table(stem, title, columns, rows, notes):
    """`save_table` to `<stem>.csv` and `.md`, then the Markdown and where it went on standard output."""
    markdown = save_table(stem, title, columns, rows, notes)
    print()
    print(markdown)
    print(f"written: {stem}.csv, {stem}.md")
    return markdown
