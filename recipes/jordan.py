"""
Title: Slot filling with a bidirectional Jordan network
Description: Stacked bidirectional Jordan networks, whose memory is their previous output, tag every word.

An Elman network remembers its previous hidden layer; a Jordan network (Jordan
1986) remembers its previous *output*: h_t = tanh(W x_t + U y_{t-1} + b) and
y_t = softmax(V h_t + c). In a tagger that output is a distribution over
slots, so the memory says "the last word looked like a departure city", which
is exactly the context slot filling needs. Mesnil et al. (2015) report about
94.3 slot F1 on ATIS with it.

Each layer here is `custom_layers.JordanRNN` whose output layer has `units`
tanh units, fed back as the memory; `Bidirectional` concatenates the two
directions' outputs, and the next layer or the tag head reads them. Setting
`output_units=encoder.num_tags, output_activation="softmax"` gives Mesnil's
variant, whose memory is the previous label distribution; stacked under a
tag head it trained far worse here (ATIS dev slot F1 0.67 after 8 epochs,
against 0.94 for the tanh output layer).

Run it:

    python -m recipes.jordan
    python -m recipes.jordan --data ../shared/datasets/atis
"""

import keras

import custom_layers
from custom_layers import JordanRNN
from recipes.config.settings import SHARED
from recipes.model import parts as model_parts
from recipes.training.recipe import recipe_main

# Hyperparameters: each one is also a flag (`--depth 3`); edit them here to change the defaults.
depth = 1  # Try 1 to 4: deeper stacks combine longer patterns; one layer did best on ATIS dev
units = 128  # Hidden units, and output units fed back as memory, per direction and layer
bidirectional = True  # Read each sentence both ways, so every word sees its right context too
dropout = 0.3  # On word features and between layers
learning_rate = 0.0015  # Ungated memories train best with small steps
head = "crf"  # A CRF scores neighbouring tags together, which the simple memory does poorly on its own
# (dev scores of these choices: benchmarks/results/quality_atis_ungated_2x128.md, quality_atis_crf.md)

# The flags' defaults for this recipe (the others are shared: `python -m recipes.jordan --help`).
DEFAULTS = {
    "depth": depth,
    "units": units,
    "bidirectional": bidirectional,
    "dropout": dropout,
    "learning_rate": learning_rate,
    "head": head,
}


def build_model(
    encoder,
    depth=depth,
    units=units,
    bidirectional=bidirectional,
    encoding=SHARED.encoding,
    embedding_dim=SHARED.embedding_dim,
    window=SHARED.window,
    dropout=dropout,
    head=head,
    intent=SHARED.intent,
    intent_pooling=SHARED.intent_pooling,
    intent_to_slots=SHARED.intent_to_slots,
):
    """Word features -> [Bidirectional(JordanRNN)] x depth -> a tag score per word, and the sentence's intent."""
    inputs, x = model_parts.encode_inputs(encoder, encoding, embedding_dim, window, dropout)
    for _ in range(depth):
        layer = JordanRNN(units, output_units=units, output_activation="tanh", return_sequences=True)
        # Keras's Bidirectional, running both directions in one loop (`keras.layers.Bidirectional` works too).
        x = custom_layers.Bidirectional(layer)(x) if bidirectional else layer(x)
        x = keras.layers.Dropout(dropout)(x)
    # With intents in the data: {"tags": scores per word, "intent": logits per sentence}.
    outputs = model_parts.output_heads(x, encoder, head, intent, intent_pooling, intent_to_slots)
    return keras.Model(inputs, outputs, name="jordan_tagger")


def main(argv=None):
    return recipe_main(build_model, argv, "jordan", __doc__, DEFAULTS)


if __name__ == "__main__":
    main()
