"""Writing an export folder: the artifact, `encoder.json` and `export.json`, whole or not at all.

    folder = export_run("runs/lstm-...", "onnx")   # RUN/export/onnx/, or raises UsageError / ExportFailed

`export_run` is what `python -m recipes.export` runs. The folder (its names:
`recipes.inference.export_folder`) is written in a staging folder beside the
target and swapped in at the end; a failure leaves nothing behind, and an
earlier export as it was. The artifact comes from the model's layers
(`onnx_graph`) where they all have an ONNX form, else from `model.export`
(tf2onnx for ONNX), which converts TensorFlow graphs: under another backend
that conversion runs in a second process, `python -m recipes.export
--artifact-only PATH` under `KERAS_BACKEND=tensorflow`.
"""

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
from recipes.config.errors import ExportFailed, UsageError, one_line
from recipes.exporting import decoded as exported
from recipes.exporting import onnx_graph
from recipes.inference import export_folder
from recipes.inference.tagger import Tagger
from recipes.model.description import model_input_features

PROG = "python -m recipes.export"  # the command that runs `export_run`: its messages' prefix
KERAS_FORMATS = {"onnx": "onnx", "saved_model": "tf_saved_model"}  # our name -> `model.export`'s
REPO_ROOT = Path(__file__).resolve().parents[2]


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
        raise UsageError(f"{flag} {target}: cannot be written ({error.strerror or one_line(error)})") from None
    try:
        yield staging
        replace_folder(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        remove_empty(made)
        raise


def remove_empty(folders):
    """Removes each of `folders` that is empty, in the order given (deepest first: a folder whose only
    content was the one before it goes too)."""
    for folder in folders:
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
                raise ExportFailed(f"onnx export of {model_dir} failed ({one_line(error)})") from error
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
        raise ExportFailed(f"{export_format} export of {model_dir} failed ({one_line(error)})") from error
    if not Path(path).exists():
        raise ExportFailed(f"{export_format} export of {model_dir} wrote nothing at {path}")


def export_in_tensorflow(model_dir, path):
    """Runs `write_tf2onnx_artifact` in a Python process under the TensorFlow backend (`--artifact-only`)."""
    env = dict(os.environ, KERAS_BACKEND="tensorflow", TF_CPP_MIN_LOG_LEVEL="3")
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH")]))
    command = [sys.executable, "-m", "recipes.export", "--model-dir", str(model_dir), "--artifact-only", str(path)]
    finished = subprocess.run(command, env=env, capture_output=True, text=True)
    if finished.returncode != 0:
        lines = finished.stderr.strip().splitlines() or [f"exit status {finished.returncode}"]
        message = lines[-1].removeprefix(f"{PROG}: error: ")
        raise (UsageError if finished.returncode == 2 else ExportFailed)(message)


def write_tf2onnx_artifact(model_dir, path):
    """The second process's part of `export_in_tensorflow` (`--artifact-only`): the run folder's model
    as ONNX through tf2onnx at `path`, nothing else."""
    model = Tagger.load(model_dir).model
    export_through_keras(model, model_dir, "onnx", Path(path))
