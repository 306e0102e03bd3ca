"""
Title: Slot filling without memory: the feed-forward baseline
Description: Dense layers tag each word on its own, with the same inputs and tag head as the recurrent recipes.

This is the lecture's baseline: the same word encoding and tag head as every
other recipe, but the layers in between are `Dense`, applied to each word
separately. Without memory the network must give "taipei" one answer whatever
came before it, so in "i would like to arrive taipei on november 2nd" and
"leave taipei on november 2nd" it cannot make taipei a destination in one and
a departure in the other. Compare its scores and its tags on those two
sentences with `recipes.lstm`. (`--window 2` lets it peek at two neighbours on
each side, a fixed-size stand-in for memory.)

Run it:

    python -m recipes.feedforward
"""

import keras

from recipes.config.settings import SHARED
from recipes.model import parts as model_parts
from recipes.training.recipe import recipe_main

# Hyperparameters: each one is also a flag (`--depth 3`); edit them here to change the defaults.
depth = 2  # Dense layers between the word features and the tag head
units = 256  # Units per Dense layer
window = 0  # 0: each word alone, as the lecture's feed-forward tagger sees it
dropout = 0.3  # On word features and between layers

# The flags' defaults for this recipe (the others are shared: `python -m recipes.feedforward --help`).
DEFAULTS = {"depth": depth, "units": units, "window": window, "dropout": dropout}


def build_model(
    encoder,
    depth=depth,
    units=units,
    bidirectional=SHARED.bidirectional,
    encoding=SHARED.encoding,
    embedding_dim=SHARED.embedding_dim,
    window=window,
    dropout=dropout,
    head=SHARED.head,
    intent=SHARED.intent,
    intent_pooling=SHARED.intent_pooling,
    intent_to_slots=SHARED.intent_to_slots,
):
    """Word features -> [Dense] x depth -> a tag score per word, and the sentence's intent; no memory anywhere.

    `bidirectional` is accepted so that every recipe shares one signature; a
    feed-forward layer has no direction.
    """
    inputs, x = model_parts.encode_inputs(encoder, encoding, embedding_dim, window, dropout)
    for _ in range(depth):
        x = keras.layers.Dense(units, activation="relu")(x)
        x = keras.layers.Dropout(dropout)(x)
    # With intents in the data: {"tags": scores per word, "intent": logits per sentence}.
    outputs = model_parts.output_heads(x, encoder, head, intent, intent_pooling, intent_to_slots)
    return keras.Model(inputs, outputs, name="feedforward_tagger")


def main(argv=None):
    return recipe_main(build_model, argv, "feedforward", __doc__, DEFAULTS)


if __name__ == "__main__":
    main()
