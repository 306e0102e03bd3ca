"""Layers that Keras 3 does not ship, written as first-class Keras layers.

* `JordanRNNCell` / `JordanRNN`: the Jordan network, whose memory is its
  previous output y_{t-1} rather than its hidden layer.
* `PeepholeLSTMCell` / `PeepholeLSTM`: an LSTM whose gates also read the
  memory cell (diagonal peepholes, or the lecture's full variant).
* `LSTM`, `GRU`, `SimpleRNN`, `Bidirectional`: Keras's layers of those names
  (the same weights, config and outputs) with the input projection computed
  for all time steps before the loop, and both directions in one loop.
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
from custom_layers.projected_rnn import GRU, LSTM, Bidirectional, SimpleRNN

__all__ = [
    "AttentionPooling",
    "Bidirectional",
    "CRF",
    "GRU",
    "ContextWindow",
    "JordanRNN",
    "JordanRNNCell",
    "LSTM",
    "MeanPooling",
    "OneHot",
    "PeepholeLSTM",
    "PeepholeLSTMCell",
    "SimpleRNN",
    "StepBroadcast",
    "TrigramEmbedding",
    "bio_transition_mask",
]
