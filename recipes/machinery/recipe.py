"""A whole recipe run: the steps from a dataset to a scored, saved, demonstrated model.

Every recipe's `main()` is one call:

    def main(argv=None):
        return recipe_main(build_model, argv, "lstm", __doc__, DEFAULTS)

`recipe_main` parses the flags into a `Settings` and turns errors into one
line and an exit status; `run_recipe` is the run itself, step by step (the
tuner calls it too, to retrain its best configuration).
"""

import dataclasses
import sys
import time
from pathlib import Path

import keras

import data
from data.command_line import exit_on_errors
from recipes import scoring
from recipes.machinery import checkpoints, report, run_folder
from recipes.machinery.errors import EXIT_CODES
from recipes.machinery.flags import describe, parse_settings
from recipes.machinery.model_parts import compile_model, inference_view, set_word_vectors
from recipes.machinery.settings import model_options
from recipes.machinery.tagging import predict_split, tag_sentences
from recipes.machinery.training import train

LECTURE_SENTENCES = (
    "i would like to arrive taipei on november 2nd",
    "leave taipei on november 2nd",
)


def recipe_main(build_model, argv, name, docstring, defaults=None, sentences=LECTURE_SENTENCES):
    """The command line of a recipe: flags, the run, one-line errors.

    Returns the metrics dict written to `metrics.json`. Bad flags and bad data
    print one line and exit with code 2; a diverged run exits 1; Ctrl-C says
    how to resume and exits 130.
    """
    prog = f"python -m recipes.{name}"
    settings = parse_settings(argv, prog, describe(docstring), defaults)
    if settings.output_dir is None and not settings.resume:
        # Named now (made only once the data has been read), so that Ctrl-C can say where to resume.
        settings = dataclasses.replace(settings, output_dir=str(run_folder.default_path(name)))
    try:
        with exit_on_errors(prog, EXIT_CODES):
            return run_recipe(build_model, name, settings, sentences)
    except KeyboardInterrupt:
        run_dir = Path(settings.output_dir) if settings.output_dir else None
        if run_dir and (run_dir / "checkpoint" / "state.json").is_file():
            hint = f"continue with the same command and --resume --output-dir {run_dir}"
        else:
            hint = "no epoch had finished, so there is nothing to resume"
        print(f"\n{prog}: interrupted; {hint}", file=sys.stderr)
        raise SystemExit(130)


def run_recipe(build_model, name, settings, sentences=LECTURE_SENTENCES):
    """Trains one configuration, scores it, writes its run folder and tags `sentences`.

    Returns the metrics dict written to `metrics.json`; raises `UsageError`,
    `data.DatasetError` or `TrainingDiverged`.
    """
    # Data and model first: what bad input can break is read and built before
    # the run folder is made, so a failure writes nothing.
    dataset = load_data(settings)
    keras.utils.set_random_seed(settings.seed)
    if settings.resume:
        run_dir = run_folder.create(name, settings.output_dir, resume=True)
        settings = dataclasses.replace(settings, output_dir=str(run_dir))
        settings, model, encoder, state = checkpoints.resume_model(build_model, settings, run_dir)
    else:
        encoder = fit_encoder(dataset.train)
        model = build(build_model, encoder, settings)
        run_dir = run_folder.create(name, settings.output_dir)
        settings = dataclasses.replace(settings, output_dir=str(run_dir))
        run_folder.start(run_dir, name, settings, encoder)
        compile_model(model, settings.learning_rate)
        state = None
    report.print_start(name, dataset, encoder, model, run_dir)

    # Training: dev slot F1 after every epoch, early stopping, the best epoch's weights kept.
    monitor, train_seconds = fit(model, encoder, dataset, settings, run_dir, state)

    # Evaluation: conlleval slot scores on dev and test.
    dev, test, test_predictions = evaluate(model, encoder, dataset, settings.buckets)

    # The run folder, metrics.json last.
    metrics = run_metrics(name, dataset, dev, test, monitor, train_seconds, model, run_dir)
    run_folder.finish(run_dir, inference_view(model), dataset.test, test_predictions, test["per_slot"], metrics)

    # The scores, and the model at work on a few sentences.
    report.print_results(dev, test, metrics, train_seconds, run_dir)
    if sentences:
        print()
        report.print_tagged(tag_sentences(model, encoder, sentences))
    return metrics


def fit(model, encoder, dataset, settings, run_dir, state=None):
    """Trains (or, from a checkpoint's `state`, goes on training); returns the
    monitor and the seconds of training, those before a resume included."""
    started = time.perf_counter()
    initial_epoch = state["epochs_done"] if state else 0
    monitor = train(model, encoder, dataset, settings, run_dir, initial_epoch=initial_epoch, state=state)
    return monitor, time.perf_counter() - started + monitor.train_seconds_before


def evaluate(model, encoder, dataset, buckets):
    """Slot scores on dev and test, and the predicted test tags. Where the data marks
    the words whose slot a cue decides (`Split.context`), the scores also hold
    `context`: the accuracy on those words, overall and by cue distance."""
    scores, predictions = {}, {}
    for name in ("dev", "test"):
        split = getattr(dataset, name)
        predictions[name] = predict_split(model, encoder, split, buckets=buckets)
        scores[name] = scoring.score(split.tags, predictions[name])
        if split.context is not None:
            scores[name]["context"] = scoring.context_accuracy(split.tags, predictions[name], split.context)
    return scores["dev"], scores["test"], predictions["test"]


def run_metrics(name, dataset, dev, test, monitor, train_seconds, model, run_dir):
    """What `metrics.json` holds."""
    return {
        "recipe": name,
        "data": dataset.name,
        "backend": keras.backend.backend(),
        "device": compute_device(),
        "dev": report.summary(dev),
        "test": report.summary(test),
        "epochs": int(run_folder.history_rows(run_dir / "history.csv")),
        "best_epoch": int(monitor.best_epoch),
        "train_seconds": round(train_seconds, 2),
        "parameters": int(model.count_params()),
    }


def load_data(settings):
    """The dataset `settings.data` names, train cut to `settings.max_train` sentences."""
    dataset = data.load_dataset(settings.data, seed=settings.seed, columns=settings.columns)
    if settings.max_train:
        dataset.train = dataset.train.head(settings.max_train)
    return dataset


def fit_encoder(train_split):
    return data.Encoder.fit(train_split.words, train_split.tags)


def build(build_model, encoder, settings):
    """The recipe's model for `settings`, its word vectors started from `--word-vectors`."""
    vectors = None
    if settings.word_vectors:
        vectors, found = data.read_word_vectors(settings.word_vectors, encoder)
        print(f"{settings.word_vectors}: vectors for {found} of {encoder.word_vocabulary_size - 2} words")
    model = build_model(encoder, **model_options(settings))
    if vectors is not None:
        set_word_vectors(model, vectors)
    return model


def compute_device():
    """Where the model trained: "gpu" when the backend sees an accelerator, else "cpu"."""
    try:
        devices = keras.distribution.list_devices()
    except Exception:  # a backend without the distribution API
        return "cpu"
    kinds = {str(device).split(":")[0].lower() for device in devices}
    return "gpu" if kinds & {"gpu", "cuda", "tpu"} else "cpu"
