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

From Python, load once and tag many (`recipes.inference`):

    from recipes.inference import Tagger
    tagger = Tagger.load("runs/lstm-...")
    tagger.tag(["leave taipei on november 2nd"])

`--engine onnx` tags with the run's ONNX export instead of `model.keras`
(through onnxruntime; `recipes.inference.OnnxTagger.load(run)` from Python), and prints the
same objects. It reads `RUN/export/onnx/` (what `python -m recipes.export
--model-dir RUN` writes), or the folder `--export-dir` names.
"""

import json
import sys

from data.command_line import Parser, command
from recipes.config.arguments import batch_size
from recipes.config.errors import UsageError
from recipes.config.flags import describe
from recipes.inference.tagger import ENGINE_HELP, ENGINES, load_tagger


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


PROG = "python -m recipes.predict"


# Text that is not UTF-8, in an argument or where the answers are printed, is bad input too.
@command(PROG, usage_errors=(UnicodeEncodeError,))
def main(argv=None):
    parser = Parser(prog=PROG, description=describe(__doc__))
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
