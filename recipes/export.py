"""
Title: Export a trained run folder for tagging without Keras
Description: Writes a run folder's tagger as ONNX or a TensorFlow SavedModel that outputs decoded tag ids and intent probabilities, with export.json and the encoder beside it.

    python -m recipes.export --model-dir runs/lstm-... --format onnx
    python -m recipes.predict --model-dir runs/lstm-... --engine onnx "leave taipei on november 2nd"

The exported graph is the run's model with its decoding inside: it takes the
word ids (and letter-trigram ids) of `data.batching`, any batch size and any
length, padding as id 0, and returns `tag_ids` (the best tag of every word:
the most likely one for a softmax head, the Viterbi path for a CRF head) and,
with an intent head, `intent_probabilities`. The mask comes from the ids
themselves, so padding changes nothing. The folder written holds the artifact
(`model.onnx` or `saved_model/`), `encoder.json` (words -> ids) and
`export.json` (tag and intent names, input and output names, dtypes and
shapes, the decoding used): all a caller needs, without the run folder.

By default it goes to `RUN/export/onnx/` or `RUN/export/saved_model/`
(where `recipes.predict --engine onnx` looks). It is written whole or not at
all: in a temporary folder beside it, swapped in at the end.

ONNX is written straight from the model's layers where it can be
(`recipes.exporting.onnx_graph`: the recurrent layers become ONNX's own
`LSTM`, `GRU` and `RNN` nodes, the CRF's Viterbi two `Scan`s), under any
backend. A layer without an ONNX form there (the Jordan network, a
full-matrix peephole LSTM) sends the whole model through tf2onnx instead,
which converts TensorFlow graphs and makes each recurrent layer a loop run
word by word: under another backend (JAX, the project's default) that export
runs in a second Python process under `KERAS_BACKEND=tensorflow`, from the
same `model.keras`. `export.json` says which (`"converter"`).
"""

import argparse

from data.command_line import Parser, command
from recipes.config.flags import describe
from recipes.exporting.writer import KERAS_FORMATS, PROG, export_run, write_tf2onnx_artifact


@command(PROG)
def main(argv=None):
    parser = Parser(prog=PROG, description=describe(__doc__))
    parser.add_argument("--model-dir", required=True, help="a run folder written by a recipe")
    parser.add_argument(
        "--format",
        choices=sorted(KERAS_FORMATS),
        default="onnx",
        help="onnx (for onnxruntime and recipes.predict --engine onnx) or saved_model (TensorFlow); default onnx",
    )
    parser.add_argument(
        "--output",
        default=None,
        help="the folder to write (replaced if it holds an earlier export); default: RUN/export/<format>/",
    )
    # The TensorFlow subprocess of an ONNX export under another backend: the artifact alone, at this path.
    parser.add_argument("--artifact-only", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.artifact_only is not None:
        write_tf2onnx_artifact(args.model_dir, args.artifact_only)
        return
    folder = export_run(args.model_dir, args.format, args.output)
    print(f"exported {args.model_dir} as {args.format}: {folder}")


if __name__ == "__main__":
    main()
