"""Inference: from words to answers, for a trained run folder or its export.

words.py          raw text to words (the tokenizer step in front of the taggers)
engines.py        what runs a model on one batch: `KerasEngine` (and the ONNX one in export_folder.py)
tagger.py         `predict` (words -> tag and intent strings), `Tagger`, `OnnxTagger`, `load_tagger`
answers.py        what an answer holds: words, tags, slots, intent and its confidence
export_folder.py  an export folder's contract (export.json) and the onnxruntime engine
service.py        the HTTP service (`python -m recipes.serve`) and its page
limits.py         what one request may hold, and its checks
batch_queue.py    concurrent requests tagged in one model call

From Python:

    from recipes.inference import Tagger
    Tagger.load("runs/lstm-...").tag(["leave taipei on november 2nd"])
"""

from recipes.inference.tagger import OnnxTagger, Tagger, load_tagger

__all__ = ["OnnxTagger", "Tagger", "load_tagger"]
