"""
Title: Tag sentences with a trained run folder
Description: Loads a run folder once and prints the words, tags and slots of each sentence as JSON.

    python -m recipes.predict --model-dir runs/lstm-... "leave taipei on november 2nd"
    echo "i would like to arrive taipei on november 2nd" | python -m recipes.predict --model-dir runs/lstm-...

Each sentence gives one line of JSON:

    {"words": ["leave", "taipei", ...], "tags": ["O", "B-fromloc.city_name", ...],
     "slots": {"fromloc.city_name": "taipei", ...}}

From Python, load once and tag many:

    tagger = Tagger.load("runs/lstm-...")
    tagger.tag(["leave taipei on november 2nd"])
"""

import argparse
import json
import sys
from pathlib import Path

import keras

import custom_layers  # noqa: F401  (registers the custom layers for loading)
import data
from recipes import common


class Tagger:
    """A trained model and its encoder, ready to tag raw sentences."""

    def __init__(self, model, encoder):
        self.model = model
        self.encoder = encoder

    @classmethod
    def load(cls, model_dir):
        """Loads `model.keras` (with `safe_mode=True`) and `encoder.json` from a run folder.

        Raises `common.UsageError` with a one-line message naming the file
        when either is missing or unreadable.
        """
        folder = Path(model_dir)
        if not folder.is_dir():
            raise common.UsageError(f"--model-dir {model_dir}: no such folder")
        model_path = folder / "model.keras"
        encoder_path = folder / "encoder.json"
        for path in (model_path, encoder_path):
            if not path.is_file():
                raise common.UsageError(f"{path}: missing (is {model_dir} a finished run folder?)")
        encoder = data.Encoder.load(encoder_path)
        try:
            model = keras.saving.load_model(model_path, compile=False, safe_mode=True)
        except Exception as error:  # a corrupted or foreign file: report it on one line
            reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
            raise common.UsageError(f"{model_path}: cannot be loaded ({reason})") from error
        return cls(model, encoder)

    def tag(self, sentences, batch_size=64):
        """Tags raw sentences (strings, words separated by spaces).

        Returns one dict per sentence: `words`, `tags` (one per word) and
        `slots` (BIO spans merged: `{"toloc.city_name": "new york"}`; a slot
        that occurs twice maps to a list).
        """
        return common.tag_sentences(self.model, self.encoder, list(sentences), batch_size)


def main(argv=None):
    parser = common.Parser(prog="python -m recipes.predict", description=common.describe(__doc__))
    parser.add_argument("--model-dir", required=True, help="a run folder written by a recipe")
    parser.add_argument("sentences", nargs="*", help="sentences to tag; none: read one per line from standard input")
    parser.add_argument("--batch-size", type=common.positive_int, default=64, help="sentences per batch")
    args = parser.parse_args(argv)
    try:
        tagger = Tagger.load(args.model_dir)
    except (common.UsageError, data.DatasetError) as error:
        print(f"python -m recipes.predict: error: {error}", file=sys.stderr)
        raise SystemExit(2)
    sentences = args.sentences if args.sentences else [line.rstrip("\r\n") for line in sys.stdin]
    for result in tagger.tag(sentences, args.batch_size):
        print(json.dumps(result, ensure_ascii=False))


if __name__ == "__main__":
    main()
