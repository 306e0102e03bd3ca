"""A whole recipe run: the steps from a dataset to a scored, saved, demonstrated model.

Every recipe's `main()` is one call:

    def main(argv=None):
        return recipe_main(build_model, argv, "lstm", __doc__, DEFAULTS)

`recipe_main` parses the flags into a `Settings` and turns errors into one
line and an exit status; `run_recipe` is the run itself, step by step (the
tuner calls it too, to retrain its best configuration).
"""

import dataclasses
import time
from pathlib import Path

import keras

import data
from data.command_line import run_command
from recipes.config.compile_cache import use_compile_cache
from recipes.config.flags import describe, parse_settings
from recipes.config.formats import METRICS, stamped
from recipes.config.settings import model_options
from recipes.inference.engines import KerasEngine
from recipes.inference.tagger import Tagger, predict_sentences
from recipes.model import scoring
from recipes.model.description import has_intent
from recipes.model.parts import compile_model, inference_view, set_word_vectors
from recipes.training import checkpoints, report, run_folder
from recipes.training.monitor import check_monitor
from recipes.training.trainer import train

LECTURE_SENTENCES = (
    "i would like to arrive taipei on november 2nd",
    "leave taipei on november 2nd",
)
SHOWN_TEST_SENTENCES = 3  # on a corpus of the user's own, the run tags this many of its test sentences


def recipe_main(build_model, argv, name, docstring, defaults=None, sentences=None):
    """The command line of a recipe: flags, the run, one-line errors.

    Returns the metrics dict written to `metrics.json`. Bad flags and bad data
    print one line and exit with code 2; a diverged run exits 1; Ctrl-C says
    how to resume and exits 130.
    """
    prog = f"python -m recipes.{name}"
    run_dirs = []  # the run's folder once the flags are read: what Ctrl-C's hint names

    def parse_and_run():
        settings = parse_settings(argv, prog, describe(docstring), defaults)
        if settings.output_dir is None and not settings.resume:
            # Named now (made only once the data has been read), so that Ctrl-C can say where to resume.
            settings = dataclasses.replace(settings, output_dir=str(run_folder.default_path(name)))
        run_dirs.append(settings.output_dir)
        return run_recipe(build_model, name, settings, sentences)

    def resume_hint():
        run_dir = Path(run_dirs[0]) if run_dirs and run_dirs[0] else None
        if run_dir and (run_dir / "checkpoint" / "state.json").is_file():
            return f"continue with the same command and --resume --output-dir {run_dir}"
        return "no epoch had finished, so there is nothing to resume"

    return run_command(prog, parse_and_run, interrupted=resume_hint)


def run_recipe(build_model, name, settings, sentences=None):
    """Trains one configuration, scores it, writes its run folder and tags `sentences`
    (None: the lecture's two sentences on the built-in travel data, else a few
    of the corpus's own test sentences; `()`: none).

    Returns the metrics dict written to `metrics.json`; raises `UsageError`,
    `data.DatasetError` or `TrainingDiverged`.
    """
    # Data and model first: what bad input can break is read and built before
    # the run folder is made, so a failure writes nothing.
    dataset = load_data(settings)
    use_compile_cache(settings.compile_cache)
    keras.utils.set_random_seed(settings.seed)
    if settings.resume:
        run_dir = run_folder.create(name, settings.output_dir, resume=True)
        settings = dataclasses.replace(settings, output_dir=str(run_dir))
        settings, model, encoder, state = checkpoints.resume_model(build_model, settings, run_dir)
    else:
        encoder = fit_encoder(dataset.train)
        if settings.intent and not encoder.intents:
            print(f"{dataset.name}: the training data has no intents; training slots only")
        model = build(build_model, encoder, settings)
        check_monitor(model, dataset, settings.monitor)
        run_dir = run_folder.create(name, settings.output_dir)
        settings = dataclasses.replace(settings, output_dir=str(run_dir))
        run_folder.start(run_dir, name, settings, encoder)
        compile_model(model, settings.learning_rate, settings.intent_weight)
        state = None
    report.print_start(name, dataset, encoder, model, run_dir)
    engine = KerasEngine(model)  # made once: dev scoring, evaluation and the tagged sentences share its compiles

    # Training: dev scores after every epoch, early stopping, the best epoch's weights kept.
    monitor, train_seconds = train_run(model, engine, encoder, dataset, settings, run_dir, state)

    # Evaluation: conlleval slot scores on dev and test, and intent and frame accuracy.
    dev, test, test_predictions = evaluate(engine, encoder, dataset, settings.buckets)

    # The run folder, metrics.json last.
    metrics = run_metrics(name, dataset, dev, test, monitor, train_seconds, model, run_dir)
    run_folder.finish(run_dir, inference_view(model), dataset.test, test_predictions, test, metrics)

    # The scores, and the model at work on a few sentences.
    report.print_results(dev, test, metrics, train_seconds, run_dir)
    tagger = Tagger(engine, encoder)
    shown = shown_words(dataset, tagger) if sentences is None else [tagger.words(text) for text in sentences]
    if shown:
        print()
        report.print_tagged(tagger.tag_words(shown))
    return metrics


def shown_words(dataset, tagger):
    """What a run tags when it ends: the lecture's two sentences on the built-in
    travel data (raw text, split as `Tagger.tag` splits it); on any other corpus
    a few of its own test sentences, as its words, so they mean something to a
    model of that corpus."""
    if dataset.name == "travel":
        return [tagger.words(text) for text in LECTURE_SENTENCES]
    return dataset.test.words[:SHOWN_TEST_SENTENCES]


def train_run(model, engine, encoder, dataset, settings, run_dir, state=None):
    """Trains (or, from a checkpoint's `state`, goes on training); returns the
    monitor and the seconds of training, those before a resume included."""
    started = time.perf_counter()
    initial_epoch = state["epochs_done"] if state else 0
    monitor = train(model, encoder, dataset, settings, run_dir, initial_epoch=initial_epoch, state=state, engine=engine)
    return monitor, time.perf_counter() - started + monitor.train_seconds_before


def evaluate(engine, encoder, dataset, buckets):
    """Scores on dev and test, and the test predictions (`recipes.inference.tagger.Predictions`).

    The scores are conlleval's slot scores; with an intent head and gold
    intents also `intent_accuracy`, `frame_accuracy` (intent and every tag
    right) and `per_intent`. Where the data marks the words whose slot a cue
    decides (`Split.context`), they also hold `context`: the accuracy on those
    words, overall and by cue distance."""
    scores, predictions = {}, {}
    for name in ("dev", "test"):
        split = getattr(dataset, name)
        predicted = predictions[name] = predict_sentences(engine, encoder, split.words, buckets=buckets)
        scores[name] = scoring.score(split.tags, predicted.tags)
        if predicted.intents is not None and split.intents is not None:
            scores[name].update(scoring.intent_scores(split.intents, predicted.intents, split.tags, predicted.tags))
        if split.context is not None:
            scores[name]["context"] = scoring.context_accuracy(split.tags, predicted.tags, split.context)
    return scores["dev"], scores["test"], predictions["test"]


def run_metrics(name, dataset, dev, test, monitor, train_seconds, model, run_dir):
    """What `metrics.json` holds, its format and version first (`recipes.config.formats.METRICS`)."""
    return stamped(
        METRICS,
        {
            "recipe": name,
            "data": dataset.name,
            "backend": keras.backend.backend(),
            "device": compute_device(),
            "dev": report.summary(dev),
            "test": report.summary(test),
            "epochs": int(run_folder.history_rows(run_dir / "history.csv")),
            "best_epoch": int(monitor.best_epoch),
            "monitor": monitor.monitor,
            "intent_head": has_intent(model),
            "train_seconds": round(train_seconds, 2),
            "parameters": int(model.count_params()),
        },
    )


def load_data(settings):
    """The dataset `settings.data` names, train cut to `settings.max_train` sentences."""
    dataset = data.load_dataset(settings.data, seed=settings.seed, columns=settings.columns)
    if settings.max_train:
        dataset.train = dataset.train.head(settings.max_train)
    return dataset


def fit_encoder(train_split):
    return data.Encoder.fit(train_split.words, train_split.tags, train_split.intents)


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
