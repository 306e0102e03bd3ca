"""
Title: Slot filling with a bidirectional LSTM
Description: Stacked bidirectional LSTMs tag every word of a flight request with its slot.

The LSTM (Hochreiter and Schmidhuber 1997) keeps a memory cell that three
gates write, keep and read: the input gate decides what enters the cell, the
forget gate what stays, the output gate what the rest of the network sees.
That lets a word late in a sentence ("taipei") use a word many steps earlier
("arrive" or "leave"). Reading the sentence in both directions
(`Bidirectional`) lets every word also see what comes after it, and stacking
layers lets later layers combine longer patterns.

Run it:

    python -m recipes.lstm                        # built-in travel data, under 2 minutes on two CPU cores
    python -m recipes.lstm --data ../shared/datasets/atis --head softmax
"""

import keras

import custom_layers
from recipes.config.settings import SHARED
from recipes.model import parts as model_parts
from recipes.training.recipe import recipe_main

# Hyperparameters: each one is also a flag (`--depth 3`); edit them here to change the defaults.
depth = 1  # Try 1 to 4: deeper stacks combine longer patterns; one wide layer beat two narrow ones on ATIS
units = 256  # Units per direction and layer
bidirectional = True  # Read each sentence both ways, so every word sees its right context too
dropout = 0.5  # On word features and after each layer; a wide layer needs it high (quality_atis_lstm_dropout045.md)
learning_rate = 0.004  # Adam; one layer of 256 at this rate beat two of 128 (quality_atis_lstm_2x128.md)
head = "crf"  # A CRF scores neighbouring tags together and keeps long slots whole, which SNIPS's long
# names need (dev scores against the softmax head: benchmarks/results/quality_{atis,snips}_crf.md)

# The flags' defaults for this recipe (the others are shared: `python -m recipes.lstm --help`).
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
    """Word features -> [Bidirectional(LSTM)] x depth -> a tag score per word, and the sentence's intent."""
    inputs, x = model_parts.encode_inputs(encoder, encoding, embedding_dim, window, dropout)
    for _ in range(depth):
        # Keras's LSTM and Bidirectional with the input projection done before the loop over words and both
        # directions in one loop: the same weights and outputs, faster (`keras.layers.LSTM` works here too).
        layer = custom_layers.LSTM(units, return_sequences=True)
        x = custom_layers.Bidirectional(layer)(x) if bidirectional else layer(x)
        x = keras.layers.Dropout(dropout)(x)
    # With intents in the data: {"tags": scores per word, "intent": logits per sentence}.
    outputs = model_parts.output_heads(x, encoder, head, intent, intent_pooling, intent_to_slots)
    return keras.Model(inputs, outputs, name="lstm_tagger")


def main(argv=None):
    return recipe_main(build_model, argv, "lstm", __doc__, DEFAULTS)


if __name__ == "__main__":
    main()
