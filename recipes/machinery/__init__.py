"""The machinery every recipe shares, one job per module.

settings.py     the `Settings` dataclass: every shared default, in one table
flags.py        the shared flags, parsed once into a `Settings`
errors.py       `UsageError`, `TrainingDiverged`, `SearchFailed` and their exit statuses
model_parts.py  input encodings, tag heads, compile
training.py     `train`: fit on bucketed batches, dev slot F1 each epoch, early stop
checkpoints.py  a checkpoint after every epoch, and `--resume`
tagging.py      tags for batches, splits and raw sentences
run_folder.py   the run folder: made, filled, read back
report.py       printed scores and tagged sentences
recipe.py       `run_recipe`: the steps of a run; `recipe_main`: its command line
tables.py       Markdown and CSV result tables (the tuner's and the benchmarks')
serving.py      the service's request checks and limits, and its batching of concurrent requests
exported.py     the exported graph (decoding inside), export.json, the onnxruntime engine
onnx_graph.py   the ONNX graph written from a model's layers (ONNX's own LSTM/GRU/RNN nodes)
search_*.py     what `recipes.tune` shares out: flags, folder, results, distributed launcher
"""
