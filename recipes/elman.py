"""
Title: Slot filling with a bidirectional Elman network
Description: Stacked bidirectional Elman networks (Keras SimpleRNN) tag every word with its slot.

The Elman network (Elman 1990) is the simplest recurrent network: its memory is
a copy of the hidden layer at the previous step, fed back beside the next
input, h_t = tanh(W x_t + U h_{t-1} + b). That memory is what lets "taipei"
be tagged a destination after "arrive" and a departure after "leave", which a
network that sees one word at a time (`recipes.feedforward`) cannot do.
Mesnil et al. (2015) report 94.98 slot F1 on ATIS with it.

Run it:

    python -m recipes.elman
    python -m recipes.elman --data ../shared/datasets/atis
"""

import keras

import custom_layers
from recipes.config.settings import SHARED
from recipes.model import parts as model_parts
from recipes.training.recipe import recipe_main

# Hyperparameters: each one is also a flag (`--depth 3`); edit them here to change the defaults.
depth = 1  # Try 1 to 4: deeper stacks combine longer patterns; one layer did best on ATIS dev
units = 128  # Units per direction and layer
bidirectional = True  # Read each sentence both ways, so every word sees its right context too
dropout = 0.3  # On word features and between layers
learning_rate = 0.0015  # Ungated memories train best with small steps
head = "crf"  # A CRF scores neighbouring tags together, which the simple memory does poorly on its own
# (dev scores of these choices: benchmarks/results/quality_atis_ungated_2x128.md, quality_atis_crf.md)

# The flags' defaults for this recipe (the others are shared: `python -m recipes.elman --help`).
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
    """Word features -> [Bidirectional(SimpleRNN)] x depth -> a tag score per word, and the sentence's intent."""
    inputs, x = model_parts.encode_inputs(encoder, encoding, embedding_dim, window, dropout)
    for _ in range(depth):
        # Keras's SimpleRNN and Bidirectional with the input projection done before the loop over words and both
        # directions in one loop: the same weights and outputs, faster (`keras.layers.SimpleRNN` works here too).
        layer = custom_layers.SimpleRNN(units, return_sequences=True)
        x = custom_layers.Bidirectional(layer)(x) if bidirectional else layer(x)
        x = keras.layers.Dropout(dropout)(x)
    # With intents in the data: {"tags": scores per word, "intent": logits per sentence}.
    outputs = model_parts.output_heads(x, encoder, head, intent, intent_pooling, intent_to_slots)
    return keras.Model(inputs, outputs, name="elman_tagger")


def main(argv=None):
    return recipe_main(build_model, argv, "elman", __doc__, DEFAULTS)


if __name__ == "__main__":
    main()
