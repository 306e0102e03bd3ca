"""The pieces every part of the ONNX writer shares: the graph being written, what a layer's emitter reads, the refusal.

    b = GraphBuilder()
    ids = b.constant([1, 2], "ids")                 # an initializer, its unique name returned
    out = b.add("Gather", [b.constant(table), ids]) # a node, its output's name returned

`GraphBuilder` names every value once (a prefix keeps a subgraph's names
apart); `Context` carries the builder, the words' mask and the sentence
lengths to each layer's emitter (`onnx_encodings`, `onnx_recurrent`,
`onnx_heads`); `Unsupported` is raised for a layer or an option that has no
ONNX form here.
"""

import keras
import numpy as np
from onnx import TensorProto, helper, numpy_helper

ACTIVATIONS = {
    "tanh": "Tanh",
    "sigmoid": "Sigmoid",
    "relu": "Relu",
}  # Keras name -> ONNX operator (a recurrent node's activation, or a node of its own)


class Unsupported(Exception):
    """A layer, or an option of one, that this writer has no ONNX form for."""


class GraphBuilder:
    """Nodes and constants of one ONNX graph, every value named once."""

    def __init__(self, prefix=""):
        self.nodes, self.initializers, self.prefix, self.count = [], [], prefix, 0

    def name(self, hint):
        self.count += 1
        return f"{self.prefix}{hint}_{self.count}"

    def constant(self, value, hint="constant", dtype=None):
        array = np.asarray(value, dtype=dtype)
        name = self.name(hint)
        self.initializers.append(numpy_helper.from_array(array, name))
        return name

    def ints(self, values):
        return self.constant(np.asarray(values, dtype=np.int64), "ints")

    def add(self, op, inputs, outputs=1, hint=None, **attributes):
        """One node; returns its output name (a list of names when `outputs` > 1)."""
        names = [self.name(hint or op.lower()) for _ in range(outputs)]
        self.nodes.append(helper.make_node(op, list(inputs), names, name=self.name(op), **attributes))
        return names[0] if outputs == 1 else names


class Context:
    """What every layer's emitter may read: the builder, the mask and the sentence lengths."""

    def __init__(self, builder, mask, lengths):
        self.builder, self.mask, self.lengths = builder, mask, lengths
        self._mask_float = None

    @property
    def mask_float(self):
        """The mask as 1.0 / 0.0, (batch, time)."""
        if self._mask_float is None:
            self._mask_float = self.builder.add("Cast", [self.mask], to=TensorProto.FLOAT)
        return self._mask_float

    def steps_mask(self):
        """The mask as 1.0 / 0.0 with a trailing axis, (batch, time, 1): multiplies per-word features."""
        return self.builder.add("Unsqueeze", [self.mask_float, self.builder.ints([-1])])


def weights(variable):
    """A Keras variable's (or tensor's) values as a float32 NumPy array, for an initializer."""
    return np.asarray(keras.ops.convert_to_numpy(variable), dtype=np.float32)


def activation_name(function):
    """The Keras name of a layer's activation ("tanh", "linear", ...), whether it is stored as a function or a name."""
    return keras.activations.serialize(function) if callable(function) else str(function)
