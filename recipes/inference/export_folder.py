"""An export folder, as `python -m recipes.export` writes it, and the engine that tags with its ONNX graph.

    runs/lstm-.../export/onnx/
        model.onnx      (or saved_model/, a TensorFlow SavedModel)
        encoder.json    the run's encoder, copied: words -> ids outside the graph
        export.json     what a caller needs beside the artifact:

    {"format": "slot-rnn-export", "artifact_format": "onnx", "artifact": "model.onnx",
     "encoder": "encoder.json", "tags": ["O", "B-fromloc.city_name", ...], "intents": ["atis_flight", ...],
     "inputs": [{"name": "words", "dtype": "int32", "shape": [null, null]}],
     "outputs": [{"name": "tag_ids", "dtype": "int32", "shape": [null, null]},
                 {"name": "intent_probabilities", "dtype": "float32", "shape": [null, 26]}],
     "decoding": "argmax", "mask": "...", ...}

The graph takes the id arrays of `data.batching` (`words` (batch, time),
`trigrams` (batch, time, max_trigrams)), any batch size and length, padding
as id 0, and returns the best tag id of every word (0 at padding) and, with
an intent head, the intent's probabilities. The mask is derived from the ids
inside the graph, as the model's own layers derive theirs, so a caller feeds
ids only and padding changes nothing.
"""

import json
from pathlib import Path

import data
from recipes.config.errors import UsageError, one_line

EXPORT_FORMAT = "slot-rnn-export"
DESCRIPTION_FILE = "export.json"
ENCODER_FILE = "encoder.json"
ARTIFACTS = {"onnx": "model.onnx", "saved_model": "saved_model"}
TAG_OUTPUT, INTENT_OUTPUT = "tag_ids", "intent_probabilities"


def read_description(folder):
    """export.json of an export folder and the encoder beside it; `UsageError` naming the file otherwise."""
    folder = Path(folder)
    path = folder / DESCRIPTION_FILE
    if not path.is_file():
        raise UsageError(f"{path}: missing")
    try:
        described = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise UsageError(f"{path}: not valid JSON ({one_line(error)})") from None
    if not isinstance(described, dict) or described.get("format") != EXPORT_FORMAT:
        raise UsageError(f"{path}: not a {EXPORT_FORMAT} description")
    encoder_path = folder / ENCODER_FILE
    if not encoder_path.is_file():
        raise UsageError(f"{encoder_path}: missing")
    return described, data.Encoder.load(encoder_path)


class OnnxEngine:
    """Runs an ONNX export with onnxruntime, one `data.batching.Batch` at a time,
    as `recipes.inference.engines` runs a Keras model."""

    name = "onnx"
    # onnxruntime compiles nothing per shape: rows of filler would only add work.
    fill = False

    def __init__(self, session, described):
        self.session = session
        self.described = described
        self.features = tuple(spec["name"] for spec in described["inputs"])
        self.has_intent = INTENT_OUTPUT in [spec["name"] for spec in described["outputs"]]
        self.output_names = [TAG_OUTPUT, INTENT_OUTPUT] if self.has_intent else [TAG_OUTPUT]

    @classmethod
    def load(cls, folder, described):
        import onnxruntime  # only here: tagging with Keras never needs it

        path = Path(folder) / described.get("artifact", ARTIFACTS["onnx"])
        if described.get("artifact_format") != "onnx" or not path.is_file():
            raise UsageError(f"{path}: missing (no ONNX export there)")
        options = onnxruntime.SessionOptions()
        if described.get("converter") != "onnx_graph":
            # A tf2onnx graph runs each recurrent step as a small subgraph of small operations: on two
            # shared CPU cores onnxruntime's default pool of one thread a core made a batched pass over
            # ATIS's test sentences 2.8 times slower than one thread. A graph of ONNX's own recurrent
            # nodes keeps the default pool: on the main job's model, travel test split, two idle cores,
            # 1,745 sentences/s batched and 1.5 ms a sentence against 878 and 2.6 ms on one thread.
            options.intra_op_num_threads = 1
        try:
            session = onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        except Exception as error:  # a damaged file: report it on one line
            raise UsageError(f"{path}: cannot be loaded ({one_line(error)})") from error
        return cls(session, described)

    def predict_batch(self, batch):
        """Tag ids (batch, time) and intent probabilities (batch, intents), or None without an intent head."""
        outputs = self.session.run(self.output_names, {name: batch.inputs[name] for name in self.features})
        return outputs[0], (outputs[1] if self.has_intent else None)
