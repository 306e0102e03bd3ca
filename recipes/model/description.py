"""What a built tagger is, read once from its layers: its inputs, its tag head, its intent head.

    described = ModelDescription.of(model)
    described.features      # ("words", "trigrams"): the batch inputs it reads
    described.head          # "softmax" or "crf"
    described.intent_head   # True: its output is {"tags": ..., "intent": ...}

Training, the engines that tag and the exporters read a model through one
`ModelDescription` made when they take the model, instead of asking its
layers again at every call. The functions below are how it is read, and
what needs the layer itself (the CRF's transitions, the tag output's tensor)
calls them directly.
"""

import dataclasses

import keras

from custom_layers import CRF

FEATURES = ("words", "trigrams")  # every batch input a recipe's model may read, in batch order


def has_intent(model):
    """Whether `model` has an intent head (a dict output with an `"intent"` key)."""
    return isinstance(model.output, dict) and "intent" in model.output


def tag_output(model):
    """The model's tag scores output (a symbolic tensor)."""
    return model.output["tags"] if isinstance(model.output, dict) else model.output


def crf_layer(model):
    """The model's CRF head, or None for a softmax head."""
    for layer in model.layers:
        if isinstance(layer, CRF):
            return layer
    return None


def model_input_features(model):
    """The batch inputs (`"words"`, `"trigrams"`) that `model` reads."""
    names = set(model.input.keys()) if isinstance(model.input, dict) else {t.name for t in model.inputs}
    return tuple(name for name in FEATURES if name in names)


@dataclasses.dataclass(frozen=True)
class ModelDescription:
    """A tagger's inputs and heads."""

    features: tuple  # the batch inputs it reads, in `FEATURES` order
    head: str  # "softmax" (a tag per word on its own) or "crf" (decoded per sentence)
    intent_head: bool  # an intent output beside the tags
    num_tags: int
    num_intents: int  # 0 without an intent head

    @classmethod
    def of(cls, model: keras.Model) -> "ModelDescription":
        intent = has_intent(model)
        return cls(
            features=model_input_features(model),
            head="crf" if crf_layer(model) is not None else "softmax",
            intent_head=intent,
            num_tags=int(tag_output(model).shape[-1]),
            num_intents=int(model.output["intent"].shape[-1]) if intent else 0,
        )
