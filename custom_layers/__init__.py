"""Layers that Keras 3 does not ship, written as first-class Keras layers.

* `JordanRNNCell` / `JordanRNN`: the Jordan network, whose memory is its
  previous output y_{t-1} rather than its hidden layer.
* `PeepholeLSTMCell` / `PeepholeLSTM`: an LSTM whose gates also read the
  memory cell (diagonal peepholes, or the lecture's full variant).
* `CRF`: a linear-chain conditional random field tag head.
* `OneHot`, `TrigramEmbedding`, `ContextWindow`: word encodings and a
  context window that keep the padding mask.
* `AttentionPooling`, `MeanPooling`, `StepBroadcast`: a sentence vector read from the words
  (for the intent), and that vector repeated at every word.

Every class is registered for serialization under the package name
`custom_layers`, so models that use them save to `.keras` and load with
`safe_mode=True` once this package is imported.
"""

from custom_layers.crf import CRF, bio_transition_mask
from custom_layers.encoding import ContextWindow, OneHot, TrigramEmbedding
from custom_layers.jordan import JordanRNN, JordanRNNCell
from custom_layers.peephole import PeepholeLSTM, PeepholeLSTMCell
from custom_layers.pooling import AttentionPooling, MeanPooling, StepBroadcast

__all__ = [
    "AttentionPooling",
    "CRF",
    "ContextWindow",
    "JordanRNN",
    "JordanRNNCell",
    "MeanPooling",
    "OneHot",
    "PeepholeLSTM",
    "PeepholeLSTMCell",
    "StepBroadcast",
    "TrigramEmbedding",
    "bio_transition_mask",
]
