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
import contextlib
import json
import os
import secrets
import shutil
import subprocess
import sys
from pathlib import Path

import keras
import onnx

from custom_layers.projected_rnn import with_keras_layers
from data.atomic import PARTIAL_PREFIX, atomic_write_text, replace_folder
from data.command_line import Parser, exit_on_errors
from recipes.config.errors import EXIT_CODES, ExportFailed, UsageError, first_line
from recipes.config.flags import describe
from recipes.exporting import decoded as exported
from recipes.exporting import onnx_graph
from recipes.inference import export_folder
from recipes.inference.tagger import Tagger
from recipes.model.parts import model_input_features

PROG = "python -m recipes.export"
KERAS_FORMATS = {"onnx": "onnx", "saved_model": "tf_saved_model"}  # our name -> `model.export`'s
REPO_ROOT = Path(__file__).resolve().parent.parent


def default_output(model_dir, export_format):
    """Where an export of a run folder goes without --output: `RUN/export/<format>/`."""
    return Path(model_dir) / "export" / export_format


def export_run(model_dir, export_format="onnx", output=None):
    """Exports the run folder `model_dir` as `export_format` ("onnx" or "saved_model")
    into the folder `output` (default: `default_output`); returns that folder.

    Raises `UsageError` for a run folder that does not load, an unknown format or
    an output that cannot be written; `ExportFailed` when the converter fails.
    """
    if export_format not in KERAS_FORMATS:
        raise UsageError(f"--format {export_format}: expected one of {', '.join(KERAS_FORMATS)}")
    tagger = Tagger.load(model_dir)
    flag = "--output" if output is not None else "--model-dir"
    target = Path(output) if output is not None else default_output(model_dir, export_format)
    check_target(target, flag)
    with staging_folder(target, flag) as staging:
        converter = write_artifact(
            tagger.model, model_dir, export_format, staging / export_folder.ARTIFACTS[export_format]
        )
        tagger.encoder.save(staging / export_folder.ENCODER_FILE)
        described = exported.description(tagger.model, tagger.encoder, export_format, converter)
        atomic_write_text(staging / export_folder.DESCRIPTION_FILE, json.dumps(described, indent=2) + "\n")
    return target


def check_target(target, flag):
    """Refuses an output that is a file, or a folder that holds something other than an export
    (it would be replaced whole)."""
    if target.exists() and not target.is_dir():
        raise UsageError(f"{flag} {target}: exists and is not a folder")
    if target.is_dir() and any(target.iterdir()) and not (target / export_folder.DESCRIPTION_FILE).is_file():
        raise UsageError(f"{flag} {target}: a folder that holds no export; choose an empty or new folder")


@contextlib.contextmanager
def staging_folder(target, flag):
    """Yields an empty folder beside `target`, renamed to `target` when the block succeeds.

    On failure the folder is deleted, and so are the folders made to hold it,
    so nothing half-written is left."""
    made = [folder for folder in (target.parent, *target.parent.parents) if not folder.exists()]
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        # A random name rather than `tempfile.mkdtemp`, whose folder only its owner may read: the
        # export gets the permissions every other folder gets.
        staging = target.parent / f"{PARTIAL_PREFIX}{secrets.token_hex(6)}.{target.name}"
        staging.mkdir()
    except OSError as error:
        remove_empty(made)
        raise UsageError(f"{flag} {target}: cannot be written ({error.strerror or first_line(error)})") from None
    try:
        yield staging
        replace_folder(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        remove_empty(made)
        raise


def remove_empty(folders):
    for folder in folders:  # deepest first
        with contextlib.suppress(OSError):
            folder.rmdir()


def write_artifact(model, model_dir, export_format, path):
    """Writes the decoded tagger at `path` and returns the converter that wrote it: ONNX
    from the layers (`onnx_graph`), else `model.export` (tf2onnx for ONNX, under another
    backend than TensorFlow in a TensorFlow subprocess; see the module docstring)."""
    if export_format == "onnx":
        try:
            graph = onnx_graph.decoded_tagger_onnx(model, model_input_features(model))
        except onnx_graph.Unsupported as reason:
            print(f"{PROG}: {reason}; converting through tf2onnx instead (slower to run)", file=sys.stderr)
        else:
            try:
                onnx.save(graph, str(path))
            except OSError as error:
                raise ExportFailed(f"onnx export of {model_dir} failed ({first_line(error)})") from error
            return "onnx_graph"
        if keras.backend.backend() != "tensorflow":
            export_in_tensorflow(model_dir, path)
            return "tf2onnx"
    export_through_keras(model, model_dir, export_format, path)
    return "tf2onnx" if export_format == "onnx" else "keras"


def export_through_keras(model, model_dir, export_format, path):
    """`model.export` of the decoded tagger at `path` (ONNX through tf2onnx: under the TensorFlow backend only)."""
    # Keras's own recurrent layers, which tf2onnx converts (custom_layers.with_keras_layers): the same weights.
    decoded = exported.DecodedTagger(with_keras_layers(model))
    decoded(exported.sample_inputs(model))  # builds it: `export` needs built layers
    signature = exported.input_signature(model)
    options = {}
    if keras.backend.backend() == "jax":
        # jax2tf names every free dimension apart; words and trigrams must share one length
        # (their features are concatenated word by word).
        shapes = {name: ", ".join(["batch", "time", *map(str, spec.shape[2:])]) for name, spec in signature.items()}
        options["jax2tf_kwargs"] = {"polymorphic_shapes": [{name: f"({shape})" for name, shape in shapes.items()}]}
    try:
        decoded.export(
            str(path), format=KERAS_FORMATS[export_format], input_signature=[signature], verbose=False, **options
        )
    except Exception as error:  # the converter's own failure, on one line
        raise ExportFailed(f"{export_format} export of {model_dir} failed ({first_line(error)})") from error
    if not Path(path).exists():
        raise ExportFailed(f"{export_format} export of {model_dir} wrote nothing at {path}")


def export_in_tensorflow(model_dir, path):
    """Runs `export_through_keras` for ONNX in a Python process under the TensorFlow backend."""
    env = dict(os.environ, KERAS_BACKEND="tensorflow", TF_CPP_MIN_LOG_LEVEL="3")
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH")]))
    command = [sys.executable, "-m", "recipes.export", "--model-dir", str(model_dir), "--artifact-only", str(path)]
    finished = subprocess.run(command, env=env, capture_output=True, text=True)
    if finished.returncode != 0:
        lines = finished.stderr.strip().splitlines() or [f"exit status {finished.returncode}"]
        message = lines[-1].removeprefix(f"{PROG}: error: ")
        raise (UsageError if finished.returncode == 2 else ExportFailed)(message)


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
    with exit_on_errors(PROG, EXIT_CODES):
        if args.artifact_only is not None:
            model = Tagger.load(args.model_dir).model
            export_through_keras(model, args.model_dir, "onnx", Path(args.artifact_only))
            return
        folder = export_run(args.model_dir, args.format, args.output)
    print(f"exported {args.model_dir} as {args.format}: {folder}")


if __name__ == "__main__":
    main()
