"""
Title: Searching cells, depth and width with keras-tuner
Description: keras-tuner searches cell, depth, width, direction, dropout, learning rate, head and intent loss weight by dev slot F1 or frame accuracy.

The lecture compares memories (Elman, Jordan, LSTM, peepholes, GRU), one or two
reading directions, and shallow or deep stacks. Which of them wins on a given
dataset, and how wide each layer should be, is an empirical question: this
script asks it systematically. Every trial builds one model with the very
`build_model` function of a recipe (`recipes.elman`, `recipes.jordan`,
`recipes.lstm`, `recipes.peephole_lstm`, `recipes.gru`), trains it with the
shared training loop (dev scores after every epoch, early stopping, best
epoch kept) and reports the best epoch's dev score to keras-tuner, which
maximises it: slot F1 with conlleval semantics, `val_slot_f1` (the default),
or with `--objective val_frame_accuracy` the share of dev sentences whose
intent and every tag are right. Early stopping inside each trial follows the
same score. Where the training data has intents (the built-in travel data,
ATIS), every model also has an intent head (`--no-intent`: slots only; its
`--intent-pooling` and `--intent-to-slots` are fixed by their flags), and the
weight of the intent loss beside the slot loss joins the search space
(`--min-intent-weight`, `--max-intent-weight`, on a log scale). The best
configuration is then trained again on the full training set and saved as an
ordinary run folder.

Run it:

    python -m recipes.tune --max-trials 5 --epochs 3 --max-train 500    # a quick look at the built-in data
    python -m recipes.tune --data ../shared/datasets/atis --max-trials 20
    python -m recipes.tune --cells lstm,gru --max-depth 2 --no-bidirectional --heads softmax
    python -m recipes.tune --tuner hyperband --epochs 27                  # hyperband: --epochs is the most per trial
    python -m recipes.tune --objective val_frame_accuracy --min-intent-weight 0.5 --max-intent-weight 2

What a search leaves in `<directory>/<project-name>/` (`tuning/<dataset>/` by default):

    search.json          the flags that define the search (a rerun with other ones is refused)
    oracle.json, trial_*/ keras-tuner's own state: trial_*/trial.json holds values, score and status
    results.csv          one row per trial: trial_id, every hyperparameter, the dev scores of its best
                         epoch (val_slot_f1; with an intent head also val_intent_accuracy and
                         val_frame_accuracy; the objective's column is keras-tuner's score),
                         best_epoch, epochs, parameters, train_seconds, status, error; rewritten as
                         each trial ends
    results.md           the same table, best objective first
    search.png           the objective by depth and width, one panel per cell
    best_trial_<id>/     the best configuration retrained for the full --epochs on the full training
                         set: model.keras, encoder.json, metrics.json (dev and test slot F1, and with
                         an intent head intent and frame accuracy), ...
                         `python -m recipes.predict --model-dir tuning/<dataset>/best_trial_<id> "..."`

Stopping and resuming: interrupt a search at any time and run the same command
again: keras-tuner reloads its oracle from the folder, finished trials are kept
and the interrupted one runs again. `--max-trials` may grow between runs; every
other search flag must stay the same (`search.json` is compared, and a
different search is refused with one line), unless `--overwrite` starts over.

Several processes on this machine (a chief that hands out trials and N workers
that train them, talking over gRPC on 127.0.0.1):

    python -m recipes.tune --distributed --workers 2 --data ../shared/datasets/atis

starts them as subprocesses of itself (their output goes to `logs/` in the
search folder), prints each trial as it ends, stops the chief as soon as every
worker has exited, then writes the tables and the plot and retrains the best
configuration. Each worker trains on all the cores it finds: on a small
machine, more workers only share the same cores.

Several machines: start the same command, without `--distributed`, once per
machine with keras-tuner's environment variables, every process pointing
`--directory` at one shared folder (for example an NFS mount), and with the
same search flags (they are checked against `search.json`):

    # on the chief (10.0.0.1 here); it serves trials and trains none
    KERASTUNER_TUNER_ID=chief KERASTUNER_ORACLE_IP=10.0.0.1 KERASTUNER_ORACLE_PORT=8000 \\
        python -m recipes.tune --data ../shared/datasets/atis --directory /mnt/shared/tuning
    # on every worker, each with its own id (tuner0, tuner1, ...)
    KERASTUNER_TUNER_ID=tuner0 KERASTUNER_ORACLE_IP=10.0.0.1 KERASTUNER_ORACLE_PORT=8000 \\
        python -m recipes.tune --data ../shared/datasets/atis --directory /mnt/shared/tuning

Workers write `results.csv` and `results.md` after each trial, reading the
trial files in the shared folder. The chief exits on its own once every
worker has asked for a trial after the last one (keras-tuner checks every 20
seconds), then writes the tables and the plot and retrains the best
configuration. Start the workers while the chief is still serving: a worker
that connects after the search has ended waits for the chief (up to an hour)
and must be stopped by hand. Only the chief and single-process runs take
`--overwrite`.
"""

import sys

from data.command_line import command
from recipes.config.flags import describe
from recipes.search.command_line import check_data, launcher_free, parse_search, process_role
from recipes.search.folder import prepare_project
from recipes.search.hypermodel import describe_trial, trial_settings
from recipes.search.launcher import run_distributed
from recipes.search.tuners import report, run_search
from recipes.training.recipe import load_data

PROG = "python -m recipes.tune"


@command(PROG, interrupted=lambda: "run the same command again to resume the search")
def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    request = parse_search(argv, PROG, describe(__doc__))
    role = process_role(request)
    dataset = load_data(request.settings)  # a bad --data fails here, before anything is written
    searched = check_data(request, dataset)  # and flags the data cannot serve
    if request.settings.intent and not searched.settings.intent:
        print(f"{dataset.name}: the training data has no intents; searching slots only", flush=True)
    request = searched
    project_dir = prepare_project(request, role)
    oracle = None
    if role == "parent":

        def describe_values(values):
            return describe_trial(values["cell"], trial_settings(request.settings, values))

        run_distributed(
            launcher_free(argv),
            request.options.workers,
            project_dir,
            describe_values,
            request.options.objective,
        )
    else:
        oracle = run_search(request, role, dataset).oracle
        if role == "worker" or request.options.serve_only:
            return {"project_dir": str(project_dir)}
    return report(request, project_dir, oracle)


if __name__ == "__main__":
    main()
