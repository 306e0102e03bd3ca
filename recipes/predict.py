"""
Title: Tag sentences with a trained run folder
Description: Loads a run folder once and prints the words, tags and slots of each sentence as JSON.

    python -m recipes.predict --model-dir runs/lstm-... "leave taipei on november 2nd"
    echo "i would like to arrive taipei on november 2nd" | python -m recipes.predict --model-dir runs/lstm-...

Each sentence gives one line of JSON:

    {"words": ["leave", "taipei", ...], "tags": ["O", "B-fromloc.city_name", ...],
     "slots": {"fromloc.city_name": "taipei", ...}, "intent": "atis_flight", "intent_confidence": 0.998}

(`intent` and `intent_confidence` only when the model has an intent head.)

Sentences are split into words on white space; a punctuation mark glued to a
word ("taipei?", "(boston),") becomes a word of its own when the word is known
to the model only without it; `--pretokenized` splits on white space only.
`words` lists the words so split, one tag each. An empty line gives
`{"words": [], "tags": [], "slots": {}}` (with `"intent": null` and
`"intent_confidence": null` from a model with an intent head).

From Python, load once and tag many:

    tagger = Tagger.load("runs/lstm-...")
    tagger.tag(["leave taipei on november 2nd"])

`--engine onnx` tags with the run's ONNX export instead of `model.keras`
(through onnxruntime; `OnnxTagger.load(run)` from Python), and prints the
same objects. It reads `RUN/export/onnx/` (what `python -m recipes.export
--model-dir RUN` writes), or the folder `--export-dir` names.
"""

import json
import sys
import zipfile
from pathlib import Path

import keras

import custom_layers  # noqa: F401  (registers the custom layers for loading)
import data
from data.batching import DEFAULT_BUCKETS
from data.command_line import Parser, exit_on_errors
from recipes.config.errors import EXIT_CODES, UsageError, first_line
from recipes.config.flags import batch_size, describe
from recipes.inference import export_folder
from recipes.inference.engines import tag_sentences
from recipes.model.parts import has_intent, tag_output

ENGINES = ("keras", "onnx")
ENGINE_HELP = (
    "keras: model.keras (default); onnx: the run's ONNX export through onnxruntime, found in "
    "RUN/export/onnx/ (written by python -m recipes.export --model-dir RUN)"
)


def load_tagger(model_dir, engine="keras", export_dir=None):
    """A `Tagger` (engine "keras") or an `OnnxTagger` (engine "onnx") of the run folder `model_dir`."""
    if engine == "onnx":
        return OnnxTagger.load(model_dir, export_dir)
    if export_dir is not None:
        raise UsageError("--export-dir needs --engine onnx")
    return Tagger.load(model_dir)


class Tagger:
    """A trained model and its encoder, ready to tag raw sentences."""

    engine_name = "keras"

    def __init__(self, model, encoder):
        self.model = model
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
            raise UsageError(f"{model_path}: cannot be loaded ({first_line(error)})") from error
        check_encoder_fits(model, encoder, encoder_path)
        return cls(model, encoder)

    @property
    def has_intent(self):
        """Whether the model predicts an intent beside the tags."""
        return has_intent(self.model)

    def tag(self, sentences, batch_size=64, pretokenized=False, buckets=DEFAULT_BUCKETS):
        """Tags raw sentences (strings; words split as `recipes.inference.engines.split_words`
        does, or with `pretokenized` on white space only, as Hugging Face's
        `is_split_into_words` takes words already split).

        Returns one dict per sentence: `words`, `tags` (one per word) and
        `slots` (BIO spans merged: `{"toloc.city_name": "new york"}`; a slot
        that occurs twice maps to a list); with an intent head also `intent`
        (a string) and `intent_confidence` (its probability), both None for a
        sentence without words. `buckets` are the padded lengths sentences are
        grouped by, one model call per group (`data.batching.make_batches`).
        """
        return tag_sentences(self.model, self.encoder, list(sentences), batch_size, pretokenized, buckets)


class OnnxTagger:
    """An ONNX export (`python -m recipes.export`) and its encoder, tagging as `Tagger` does."""

    engine_name = "onnx"

    def __init__(self, engine, encoder):
        self.engine = engine
        self.encoder = encoder

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

    @property
    def has_intent(self):
        """Whether the export gives an intent beside the tags."""
        return self.engine.has_intent

    def tag(self, sentences, batch_size=64, pretokenized=False, buckets=DEFAULT_BUCKETS):
        """As `Tagger.tag`: one dict per sentence, `words`, `tags`, `slots` (and `intent`, `intent_confidence`)."""
        return tag_sentences(self.engine, self.encoder, list(sentences), batch_size, pretokenized, buckets)


def check_encoder_fits(model, encoder, encoder_path):
    """Raises `UsageError` when the encoder's vocabularies and tags are
    not the sizes the model was built for (an altered or mismatched encoder.json)."""
    sizes = {"tags": (encoder.num_tags, tag_output(model).shape[-1])}
    if has_intent(model):
        sizes["intents"] = (encoder.num_intents, model.output["intent"].shape[-1])
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


def read_sentences(lines, where):
    """Sentences from byte lines, or `UsageError` naming the line that is
    not UTF-8 (`where` is formatted with its number: "standard input line {}")."""
    sentences = []
    for number, line in enumerate(lines, start=1):
        try:
            sentences.append(line.decode("utf-8").rstrip("\r\n"))
        except UnicodeDecodeError as error:
            byte, column = line[error.start], error.start + 1
            raise UsageError(
                f"{where.format(number)}: bytes that are not UTF-8 (0x{byte:02x} at column {column})"
            ) from None
    return sentences


def main(argv=None):
    prog = "python -m recipes.predict"
    parser = Parser(prog=prog, description=describe(__doc__))
    parser.add_argument("--model-dir", required=True, help="a run folder written by a recipe")
    parser.add_argument("sentences", nargs="*", help="sentences to tag; none: read one per line from standard input")
    parser.add_argument("--batch-size", type=batch_size, default=64, help="sentences per batch")
    parser.add_argument(
        "--pretokenized",
        action="store_true",
        help="the sentences are words already split: split on white space only, never split punctuation off "
        "(a corpus's own seq.in then tags exactly as the run folder's test scores count it)",
    )
    parser.add_argument("--engine", choices=ENGINES, default="keras", help=f"{ENGINE_HELP} or in --export-dir")
    parser.add_argument("--export-dir", default=None, help="with --engine onnx: the export folder to read instead")
    args = parser.parse_args(argv)
    with exit_on_errors(prog, {**EXIT_CODES, UnicodeEncodeError: 2}):
        tagger = load_tagger(args.model_dir, args.engine, args.export_dir)
        if args.sentences:
            # Arguments that are not UTF-8 reach Python as lone surrogates.
            sentences = read_sentences([s.encode("utf-8", "surrogateescape") for s in args.sentences], "sentence {}")
        else:
            sentences = read_sentences(sys.stdin.buffer, "standard input line {}")
    for result in tagger.tag(sentences, args.batch_size, args.pretokenized):
        print(json.dumps(result, ensure_ascii=False))


if __name__ == "__main__":
    main()
