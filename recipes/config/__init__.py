"""What every command is told and how it fails: the options declared once, their flags, the files' versions.

settings.py       `Settings`: every option of a run, declared once (type, check, default, help, groups, search)
flags.py          the recipes' command line, made from those declarations
arguments.py      argument types shared by every command line (`positive_int`, `layer_width`, ...)
errors.py         the run's errors in the project's one hierarchy (`data.command_line`)
formats.py        the versions of config.json, state.json, metrics.json and search.json, and their migrations
compile_cache.py  JAX's persistent compilation cache (`--compile-cache`)
"""
