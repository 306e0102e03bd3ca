"""Raw text to words: the tokenizer step in front of every tagger.

    split_words("flights to boston?", encoder)   # ["flights", "to", "boston", "?"] when "boston" is known
    sentence_words("san  francisco", encoder, pretokenized=True)   # ["san", "francisco"]

The core of inference takes lists of words (`recipes.inference.tagger`);
only raw text comes through here first.
"""

import unicodedata


def split_words(sentence, encoder):
    """The words of a raw sentence: split on white space, and punctuation glued
    to a word split off when the word is unknown to `encoder` but known without it.

    "flights to boston?" -> ["flights", "to", "boston", "?"] when "boston" is in
    the vocabulary and "boston?" is not; "(boston)," -> ["(", "boston", "),"].
    Known words keep their punctuation ("u.s.", "o'clock"), and so do words that
    stay unknown either way, so the words always put back the sentence.
    """
    words = []
    for token in sentence.split():
        core_start, core_end = 0, len(token)
        while core_start < core_end and unicodedata.category(token[core_start]).startswith("P"):
            core_start += 1
        while core_end > core_start and unicodedata.category(token[core_end - 1]).startswith("P"):
            core_end -= 1
        core = token[core_start:core_end]
        if (
            core
            and core != token
            and encoder.encode_words([token])[0] == encoder.OTHER
            and encoder.encode_words([core])[0] != encoder.OTHER
        ):
            words.extend(part for part in (token[:core_start], core, token[core_end:]) if part)
        else:
            words.append(token)
    return words


def sentence_words(sentence, encoder, pretokenized=False):
    """The words of `sentence`: `split_words`, or with `pretokenized` a split on white space only
    (a corpus's own words then keep exactly their gold tags' positions)."""
    return sentence.split() if pretokenized else split_words(sentence, encoder)
