"""Words to answers: the one path every tagger takes, and the `Tagger`s that load a run folder.

    tagger = Tagger.load("runs/lstm-...")                 # model.keras through Keras
    tagger = OnnxTagger.load("runs/lstm-...")             # its ONNX export through onnxruntime
    tagger.tag(["leave taipei on november 2nd"])          # raw text: the tokenizer step, then tag_words
    tagger.tag_words([["leave", "taipei", "on", "november", "2nd"]])

    predictions = predict_sentences(engine, encoder, split.words)   # tag and intent strings, for scoring

`predict_sentences` is the core: lists of words in, encoded and batched by length
(`data.batching`), run by an engine (`recipes.inference.engines`), decoded
to tag and intent strings. Training scores its dev and test splits through
it; a `Tagger` turns its `Predictions` into answers (`recipes.inference.answers`).
"""

import dataclasses
import zipfile
from pathlib import Path

import keras
import numpy as np

import custom_layers  # noqa: F401  (registers the custom layers for loading)
import data
from data.batching import DEFAULT_BUCKETS, encode_sentences, make_batches
from recipes.config.errors import UsageError, one_line
from recipes.inference import export_folder
from recipes.inference.answers import answer
from recipes.inference.engines import KerasEngine, predict_batches
from recipes.inference.words import sentence_words

ENGINES = ("keras", "onnx")
ENGINE_HELP = (
    "keras: model.keras (default); onnx: the run's ONNX export through onnxruntime, found in "
    "RUN/export/onnx/ (written by python -m recipes.export --model-dir RUN)"
)


@dataclasses.dataclass
class Predictions:
    """Predictions for a list of sentences, in order: tag strings per sentence, and with
    an intent head the intent strings and their probabilities (else None). A sentence
    without words has no tags and, with an intent head, None for its intent."""

    tags: list
    intents: list | None = None
    intent_confidences: list | None = None


def predict_sentences(engine, encoder, sentences, batch_size=64, buckets=DEFAULT_BUCKETS):
    """`Predictions` for `sentences` (lists of words) by `engine`, ids decoded by `encoder`."""
    sentences = [list(words) for words in sentences]
    nonempty = [index for index, words in enumerate(sentences) if words]
    tags = [[] for _ in sentences]
    intents = [None] * len(sentences) if engine.has_intent else None
    confidences = [None] * len(sentences) if engine.has_intent else None
    if nonempty:
        encoded = encode_sentences(encoder, [sentences[index] for index in nonempty])
        batches = make_batches(encoded, batch_size, features=engine.features, buckets=buckets, fill=engine.fill)
        tag_ids, probabilities = predict_batches(engine, batches)
        for position, index in enumerate(nonempty):
            tags[index] = encoder.decode_tags(tag_ids[position])
            if probabilities is not None:
                best = int(np.argmax(probabilities[position]))
                intents[index] = encoder.decode_intent(best)
                confidences[index] = float(probabilities[position][best])
    return Predictions(tags, intents, confidences)


def load_tagger(model_dir, engine="keras", export_dir=None):
    """A `Tagger` (engine "keras") or an `OnnxTagger` (engine "onnx") of the run folder `model_dir`."""
    if engine == "onnx":
        return OnnxTagger.load(model_dir, export_dir)
    if export_dir is not None:
        raise UsageError("--export-dir needs --engine onnx")
    return Tagger.load(model_dir)


class Tagger:
    """An engine and its encoder, ready to tag words or raw sentences.

    `Tagger(KerasEngine(model), encoder)` wraps a model in memory; `Tagger.load`
    reads a run folder."""

    def __init__(self, engine, encoder):
        self.engine = engine
        self.encoder = encoder

    @classmethod
    def load(cls, model_dir):
        """Loads `model.keras` (with `safe_mode=True`) and `encoder.json` from a run folder.

        Raises `UsageError` with a one-line message naming the file
        when either is missing or unreadable.
        """
        folder = Path(model_dir)
        if not folder.is_dir():
            raise UsageError(f"--model-dir {model_dir}: no such folder")
        model_path = folder / "model.keras"
        encoder_path = folder / "encoder.json"
        for path in (model_path, encoder_path):
            if not path.is_file():
                raise UsageError(f"{path}: missing (is {model_dir} a finished run folder?)")
        encoder = data.Encoder.load(encoder_path)
        if not zipfile.is_zipfile(model_path):
            raise UsageError(f"{model_path}: not a .keras file (not a zip archive)")
        try:
            model = keras.saving.load_model(model_path, compile=False, safe_mode=True)
        except Exception as error:  # a corrupted or foreign file: report it on one line
            raise UsageError(f"{model_path}: cannot be loaded ({one_line(error)})") from error
        engine = KerasEngine(model)
        check_encoder_fits(model, engine.description, encoder, encoder_path)
        return cls(engine, encoder)

    @property
    def model(self):
        """The Keras model (a Keras engine's only)."""
        return self.engine.model

    @property
    def engine_name(self):
        return self.engine.name

    @property
    def has_intent(self):
        """Whether the model predicts an intent beside the tags."""
        return self.engine.has_intent

    def words(self, sentence, pretokenized=False):
        """The words of a raw sentence, as `tag` splits it (`recipes.inference.words.sentence_words`)."""
        return sentence_words(sentence, self.encoder, pretokenized)

    def tag(self, sentences, batch_size=64, pretokenized=False, buckets=DEFAULT_BUCKETS):
        """Tags raw sentences (strings; words split as `recipes.inference.words.split_words`
        does, or with `pretokenized` on white space only, as Hugging Face's
        `is_split_into_words` takes words already split).

        Returns one dict per sentence: `words`, `tags` (one per word) and
        `slots` (BIO spans merged: `{"toloc.city_name": "new york"}`; a slot
        that occurs twice maps to a list); with an intent head also `intent`
        (a string) and `intent_confidence` (its probability), both None for a
        sentence without words. `buckets` are the padded lengths sentences are
        grouped by, one model call per group (`data.batching.make_batches`).
        """
        return self.tag_words([self.words(sentence, pretokenized) for sentence in sentences], batch_size, buckets)

    def tag_words(self, sentences, batch_size=64, buckets=DEFAULT_BUCKETS):
        """Tags sentences given as lists of words; returns what `tag` returns."""
        sentences = [list(words) for words in sentences]
        predicted = predict_sentences(self.engine, self.encoder, sentences, batch_size, buckets)
        intents = predicted.intents or [None] * len(sentences)
        confidences = predicted.intent_confidences or [None] * len(sentences)
        return [
            answer(words, tags, self.has_intent, intent, confidence)
            for words, tags, intent, confidence in zip(sentences, predicted.tags, intents, confidences)
        ]


class OnnxTagger(Tagger):
    """An ONNX export (`python -m recipes.export`) and its encoder, tagging as `Tagger` does."""

    @classmethod
    def load(cls, model_dir, export_dir=None):
        """Loads the export in `export_dir` (default: `RUN/export/onnx/` of the run folder `model_dir`).

        Raises `UsageError` with a one-line message when it is missing or unreadable.
        """
        if export_dir is None:
            if not Path(model_dir).is_dir():
                raise UsageError(f"--model-dir {model_dir}: no such folder")
            folder = Path(model_dir) / "export" / "onnx"
            if not folder.is_dir():
                raise UsageError(
                    f"{folder}: no ONNX export; run python -m recipes.export --model-dir {model_dir} --format onnx"
                )
        else:
            folder = Path(export_dir)
            if not folder.is_dir():
                raise UsageError(f"--export-dir {export_dir}: no such folder")
        described, encoder = export_folder.read_description(folder)
        return cls(export_folder.OnnxEngine.load(folder, described), encoder)


def check_encoder_fits(model, description, encoder, encoder_path):
    """Raises `UsageError` when the encoder's vocabularies and tags are
    not the sizes the model was built for (an altered or mismatched encoder.json)."""
    sizes = {"tags": (encoder.num_tags, description.num_tags)}
    if description.intent_head:
        sizes["intents"] = (encoder.num_intents, description.num_intents)
    for layer in model.layers:
        if isinstance(layer, keras.layers.Embedding):
            sizes["words"] = (encoder.word_vocabulary_size, layer.input_dim)
        elif isinstance(layer, custom_layers.OneHot):
            sizes["words"] = (encoder.word_vocabulary_size, layer.num_tokens)
        elif isinstance(layer, custom_layers.TrigramEmbedding):
            sizes["trigrams"] = (encoder.trigram_vocabulary_size, layer.num_trigrams)
    inputs = model.input if isinstance(model.input, dict) else {}
    if "trigrams" in inputs:
        sizes["max_trigrams"] = (encoder.max_trigrams, inputs["trigrams"].shape[-1])
    for name, (found, expected) in sizes.items():
        if found != expected:
            raise UsageError(
                f"{encoder_path}: {found} {name} but the model was built for {expected} "
                "(the file was altered or belongs to another run)"
            )
