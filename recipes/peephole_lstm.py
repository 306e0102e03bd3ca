"""
Title: Slot filling with a bidirectional peephole LSTM
Description: Stacked bidirectional peephole LSTMs, whose gates also read the memory cell, tag every word.

In a plain LSTM the gates look only at the input and the previous output; the
cell itself is hidden from them. Gers, Schraudolph and Schmidhuber (2002) let
each gate also "peep" at the cell through a vector of weights: the input and
forget gates read c_{t-1}, the output gate reads the new c_t. This recipe
stacks `custom_layers.PeepholeLSTM`, which keeps Keras's LSTM weight layout,
so a trained LSTM's weights load into it as a starting point.

Run it:

    python -m recipes.peephole_lstm
    python -m recipes.peephole_lstm --data ../shared/datasets/atis
"""

import keras

import custom_layers
from custom_layers import PeepholeLSTM
from recipes.config.settings import SHARED
from recipes.model import parts as model_parts
from recipes.training.recipe import recipe_main

# Hyperparameters: each one is also a flag (`--depth 3`); edit them here to change the defaults.
depth = 1  # Try 1 to 4: deeper stacks combine longer patterns; one wide layer beat two narrow ones on ATIS dev
units = 256  # Units per direction and layer
bidirectional = True  # Read each sentence both ways, so every word sees its right context too
dropout = 0.5  # On word features and after each layer; a wide layer needs it high (quality_atis_peephole_dropout045.md)
learning_rate = 0.004  # Adam; the LSTM's shape and rate, which beat two layers of 128 (quality_atis_lstm_2x128.md)
head = "crf"  # A CRF scores neighbouring tags together and keeps long slots whole, which SNIPS's long
# names need (dev scores against the softmax head: benchmarks/results/quality_{atis,snips}_crf.md)

# The flags' defaults for this recipe (the others are shared: `python -m recipes.peephole_lstm --help`).
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
    """Word features -> [Bidirectional(PeepholeLSTM)] x depth -> a tag score per word, and the sentence's intent."""
    inputs, x = model_parts.encode_inputs(encoder, encoding, embedding_dim, window, dropout)
    for _ in range(depth):
        layer = PeepholeLSTM(units, return_sequences=True)
        # Keras's Bidirectional, running both directions in one loop (`keras.layers.Bidirectional` works too).
        x = custom_layers.Bidirectional(layer)(x) if bidirectional else layer(x)
        x = keras.layers.Dropout(dropout)(x)
    # With intents in the data: {"tags": scores per word, "intent": logits per sentence}.
    outputs = model_parts.output_heads(x, encoder, head, intent, intent_pooling, intent_to_slots)
    return keras.Model(inputs, outputs, name="peephole_lstm_tagger")


def main(argv=None):
    return recipe_main(build_model, argv, "peephole_lstm", __doc__, DEFAULTS)


if __name__ == "__main__":
    main()
