"""Export: a run folder's tagger as ONNX or a TensorFlow SavedModel, with its decoding inside.

writer.py          `export_run`: the export folder, written whole or not at all, and the converter chosen
decoded.py         `DecodedTagger` (ids in, decoded tag ids out) and export.json's description
onnx_graph.py      the ONNX graph written from a model's layers: the walk over them, `decoded_tagger_onnx`
onnx_builder.py    nodes and constants of one ONNX graph, and the mask every emitter reads
onnx_encodings.py  word vectors, letter trigrams, one-hot words, the context window
onnx_recurrent.py  LSTM, GRU and Elman layers as ONNX's own recurrent nodes
onnx_heads.py      dense layers, the CRF's emissions, poolings and the intent fed to the tags
onnx_viterbi.py    the CRF's Viterbi as two ONNX Scans

What reads an export back (export.json, the onnxruntime engine) is `recipes.inference.export_folder`.
"""
