"""One training run: from a dataset to a trained, scored and saved run folder.

recipe.py       `recipe_main` (a recipe's command line) and `run_recipe`, the steps of a run
trainer.py      `train`: length-bucketed batches and the one place where `model.fit` runs
monitor.py      after every epoch: dev scores, early stopping, best weights, the checkpoint
checkpoints.py  a checkpoint after every epoch, and `--resume`
run_folder.py   the run folder: made, filled, read back
report.py       what a run prints: scores, the worst slots, tagged sentences
tables.py       Markdown and CSV result tables (the tuner's and the benchmarks')
"""
