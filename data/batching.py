"""Length-bucketed batches: sentences of similar length share a batch.

ATIS sentences average 11 words against a longest of 46, so padding every
batch to the longest sentence wastes about three quarters of the work.
Here every sentence is padded only up to the smallest *bucket length* that
holds it (8, 12, 16, 24, 32, 48, 64 by default, then multiples of 64), so a
compiled backend sees a handful of shapes and never retraces per batch.

A batch is a `Batch`: the sentence indices it holds (to put predictions back
in corpus order), the model inputs, the tag ids and the sample weights:

    inputs  {"words": int32 (B, L), "trigrams": int32 (B, L, K)}
    tags    int32 (B, L), -1 at padded steps
    weights float32 (B, L), 1.0 at real words and 0.0 at padded steps
    intents int32 (B,), the intent id of each sentence, -1 on filler rows
            (None when the encoder or the split has no intents)

Padding is also id 0 in `words` and `trigrams`, which is what masks the
recurrent layers; the -1 tags and zero weights keep padding out of the loss.
"""

import dataclasses

import numpy as np

DEFAULT_BUCKETS = (8, 12, 16, 24, 32, 48, 64)
PAD_TAG = -1


@dataclasses.dataclass
class EncodedSplit:
    """One split turned into id arrays, one array per sentence."""

    word_ids: list
    trigram_ids: list
    tag_ids: list | None
    max_trigrams: int
    intent_ids: np.ndarray | None = None

    def __len__(self):
        return len(self.word_ids)

    @property
    def lengths(self):
        return np.array([len(ids) for ids in self.word_ids], dtype=np.int64)


@dataclasses.dataclass
class Batch:
    indices: np.ndarray
    inputs: dict
    tags: np.ndarray | None
    weights: np.ndarray
    intents: np.ndarray | None = None


def encode_split(encoder, split, with_tags=True, with_intents=True):
    """Encodes a `data.Split` with a fitted `data.Encoder`: word and trigram ids, and
    with `with_tags` tag ids and (with `with_intents`, where the encoder and
    the split have intents) intent ids.

    Tags unseen in train become "O" ids here, and intents unseen in train -1
    (which the intent loss skips); they only feed the loss, while scoring
    always reads the gold tag and intent strings of the split itself.
    """
    encoded = encode_sentences(encoder, split.words)
    tag_ids = None
    if with_tags and split.tags is not None:
        tag_ids = [np.asarray(encoder.encode_tags(tags, unknown="O"), dtype=np.int32) for tags in split.tags]
    intent_ids = None
    if with_tags and with_intents and split.intents is not None and getattr(encoder, "intents", None):
        intent_ids = np.asarray(encoder.encode_intents(split.intents, unknown=PAD_TAG), dtype=np.int32)
    return dataclasses.replace(encoded, tag_ids=tag_ids, intent_ids=intent_ids)


def encode_sentences(encoder, sentences):
    """Word and letter-trigram ids of sentences given as lists of words (no tags): what a model reads."""
    word_ids = [np.asarray(encoder.encode_words(words), dtype=np.int32) for words in sentences]
    trigram_ids = [
        np.asarray(encoder.encode_trigrams(words), dtype=np.int32).reshape(len(words), encoder.max_trigrams)
        for words in sentences
    ]
    return EncodedSplit(word_ids, trigram_ids, None, encoder.max_trigrams)


def bucket_length(length, buckets=DEFAULT_BUCKETS):
    """The padded length of a sentence of `length` words."""
    for bucket in buckets:
        if length <= bucket:
            return bucket
    step = buckets[-1]
    return int(-(-length // step) * step)


def make_batches(
    encoded, batch_size, *, features=("words",), buckets=DEFAULT_BUCKETS, shuffle=False, seed=0, fill=True
):
    """Groups an `EncodedSplit` into `Batch`es of sentences of one bucket.

    Args:
        encoded: an `EncodedSplit`.
        batch_size: sentences per batch (the last batch of a bucket may be smaller).
        features: which inputs to build, among "words" and "trigrams".
        buckets: increasing padded lengths.
        shuffle: shuffle sentences within buckets and the order of batches.
        seed: seed of that shuffle; pass a different one each epoch.
        fill: pad the last, smaller batch of each bucket with empty rows
            (all padding, weight 0) up to `batch_size`, so that the batch
            dimension never changes either and a compiled backend compiles
            one function per bucket. `"power_of_two"` pads it only up to the
            next power of two (at most `batch_size`): a few more shapes, but a
            single sentence is tagged as a batch of one, not of `batch_size`.
            False leaves it as it is.

    Returns:
        A list of `Batch`. Without shuffling, batches come bucket by bucket
        in corpus order. Row `r` of a batch holds sentence `indices[r]`;
        rows past `len(indices)` are filler.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be a positive integer, got {batch_size}")
    unknown = set(features) - {"words", "trigrams"}
    if unknown or not features:
        raise ValueError(f"features must be among 'words' and 'trigrams', got {features}")
    rng = np.random.default_rng(seed)
    lengths = encoded.lengths
    padded = np.array([bucket_length(n, buckets) for n in lengths], dtype=np.int64)
    batches = []
    for bucket in sorted(set(padded.tolist())):
        members = np.flatnonzero(padded == bucket)
        if shuffle:
            members = rng.permutation(members)
        for start in range(0, len(members), batch_size):
            count = min(batch_size, len(members) - start)
            if fill == "power_of_two":
                rows = min(batch_size, 1 << (count - 1).bit_length())
            else:
                rows = batch_size if fill else count
            batches.append(_assemble(encoded, members[start : start + batch_size], bucket, features, rows))
    if shuffle:
        batches = [batches[i] for i in rng.permutation(len(batches))]
    return batches


def _assemble(encoded, indices, length, features, rows):
    count = rows
    inputs = {}
    if "words" in features:
        inputs["words"] = np.zeros((count, length), dtype=np.int32)
    if "trigrams" in features:
        inputs["trigrams"] = np.zeros((count, length, encoded.max_trigrams), dtype=np.int32)
    tags = np.full((count, length), PAD_TAG, dtype=np.int32) if encoded.tag_ids is not None else None
    weights = np.zeros((count, length), dtype=np.float32)
    intents = None
    if encoded.intent_ids is not None:
        intents = np.full((count,), PAD_TAG, dtype=np.int32)
        intents[: len(indices)] = encoded.intent_ids[np.asarray(indices, dtype=np.int64)]
    for row, index in enumerate(indices):
        size = len(encoded.word_ids[index])
        if "words" in inputs:
            inputs["words"][row, :size] = encoded.word_ids[index]
        if "trigrams" in inputs:
            inputs["trigrams"][row, :size] = encoded.trigram_ids[index]
        if tags is not None:
            tags[row, :size] = encoded.tag_ids[index]
        weights[row, :size] = 1.0
    return Batch(np.asarray(indices), inputs, tags, weights, intents)
