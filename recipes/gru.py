"""
Title: Slot filling with a bidirectional GRU
Description: Stacked bidirectional GRUs tag every word of a flight request with its slot.

The gated recurrent unit (Cho et al. 2014) merges the LSTM's input and forget
gates into one update gate and drops the separate memory cell: a reset gate
decides how much of the old state feeds the new candidate, and the update gate
blends old state and candidate. It has three weight blocks where the LSTM has
four, so about a quarter fewer parameters, and it usually tags about as well;
Zhang and Wang (2016) report 95.49 slot F1 on ATIS with a joint GRU.

Run it:

    python -m recipes.gru
    python -m recipes.gru --data ../shared/datasets/atis
"""

import keras

import custom_layers
from recipes.config.settings import SHARED
from recipes.model import parts as model_parts
from recipes.training.recipe import recipe_main

# Hyperparameters: each one is also a flag (`--depth 3`); edit them here to change the defaults.
depth = 1  # Try 1 to 4: deeper stacks combine longer patterns; one wide layer beat two narrow ones on ATIS dev
units = 256  # Units per direction and layer
bidirectional = True  # Read each sentence both ways, so every word sees its right context too
dropout = 0.45  # On word features and after each layer; a wide layer needs it high (quality_atis_gru_dropout05.md)
learning_rate = 0.004  # Adam; the LSTM's shape and rate, which beat two layers of 128 (quality_atis_lstm_2x128.md)
head = "crf"  # A CRF scores neighbouring tags together and keeps long slots whole, which SNIPS's long
# names need (dev scores against the softmax head: benchmarks/results/quality_{atis,snips}_crf.md)

# The flags' defaults for this recipe (the others are shared: `python -m recipes.gru --help`).
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
    """Word features -> [Bidirectional(GRU)] x depth -> a tag score per word, and the sentence's intent."""
    inputs, x = model_parts.encode_inputs(encoder, encoding, embedding_dim, window, dropout)
    for _ in range(depth):
        # Keras's GRU and Bidirectional with the input projection done before the loop over words and both
        # directions in one loop: the same weights and outputs, faster (`keras.layers.GRU` works here too).
        layer = custom_layers.GRU(units, return_sequences=True)
        x = custom_layers.Bidirectional(layer)(x) if bidirectional else layer(x)
        x = keras.layers.Dropout(dropout)(x)
    # With intents in the data: {"tags": scores per word, "intent": logits per sentence}.
    outputs = model_parts.output_heads(x, encoder, head, intent, intent_pooling, intent_to_slots)
    return keras.Model(inputs, outputs, name="gru_tagger")


def main(argv=None):
    return recipe_main(build_model, argv, "gru", __doc__, DEFAULTS)


if __name__ == "__main__":
    main()
