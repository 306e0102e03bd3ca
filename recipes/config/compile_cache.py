"""JAX's persistent compilation cache, shared by the recipes and the service.

Under JAX every batch shape of a model is compiled once per process; on two
CPU cores the main job's first epoch spends most of its time there. With the
cache on, a later run (or a restarted service) reads the compiled code of the
same shapes from disk instead:

    use_compile_cache(COMPILE_CACHE)      # what `--compile-cache` does by default
    use_compile_cache("off")              # nothing kept

Under another backend it does nothing.
"""

from pathlib import Path

import keras

from recipes.config.errors import UsageError

COMPILE_CACHE = Path.home() / ".cache" / "slot-rnn" / "jax-compilation"
COMPILE_CACHE_HELP = (
    "with the JAX backend, keep compiled functions in this folder, so that a later run with the same shapes "
    "reuses them (default ~/.cache/slot-rnn/jax-compilation; 'off': none)"
)


def use_compile_cache(folder):
    """JAX's persistent compilation cache in `folder` ("off" or another backend: nothing).

    Raises `UsageError` naming `--compile-cache` when the folder cannot be made.
    """
    if str(folder) == "off" or keras.backend.backend() != "jax":
        return
    import jax

    try:
        Path(folder).expanduser().mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise UsageError(f"--compile-cache {folder}: cannot be created ({error.strerror or error})") from None
    jax.config.update("jax_compilation_cache_dir", str(Path(folder).expanduser()))
    # Every compiled function is worth keeping: each costs seconds on a CPU.
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
