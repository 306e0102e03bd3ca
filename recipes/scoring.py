"""Slot scoring with the semantics of conlleval, the CoNLL-2000 evaluation script.

A slot (a "chunk") is a maximal run of tags of one type:

* it starts on `B-x`, on `I-x` after `O`, and on `I-x` after a tag of another type;
* it ends before `O`, before any `B-`, and before a tag of another type.

A predicted slot is correct only when its type, start and end all match a gold
slot. Precision, recall and F1 are micro-averaged over slots. Gold tags are read
as the strings in the data: a gold slot whose type the model never saw in train
counts as missed, never dropped.

    >>> gold = [["O", "B-toloc.city_name", "I-toloc.city_name"]]
    >>> pred = [["O", "B-toloc.city_name", "O"]]
    >>> score(gold, pred)["f1"]
    0.0
"""

import collections

import pandas as pd


def split_tag(tag):
    """`"B-toloc.city_name"` -> `("B", "toloc.city_name")`; `"O"` -> `("O", "")`."""
    if len(tag) > 2 and tag[1] == "-" and tag[0] in "BI":
        return tag[0], tag[2:]
    return "O", ""


def chunks(tags):
    """Slots in one tag sequence, as `(type, start, end)` with `end` exclusive."""
    found = []
    start, current = None, ""
    for position, tag in enumerate(list(tags) + ["O"]):
        prefix, kind = split_tag(tag)
        if start is not None and (prefix != "I" or kind != current):
            found.append((current, start, position))
            start, current = None, ""
        if prefix != "O" and start is None:
            start, current = position, kind
    return found


def _ratio(numerator, denominator):
    return numerator / denominator if denominator else 0.0


def _f1(precision, recall):
    return _ratio(2 * precision * recall, precision + recall)


def score(gold, predicted):
    """Scores predicted tag sequences against gold ones.

    Args:
        gold: list of sentences, each a list of gold tag strings.
        predicted: list of sentences, each a list of predicted tag strings,
            the same lengths as `gold`.

    Returns:
        A dict with `precision`, `recall`, `f1` (fractions, micro over slots),
        `token_accuracy` (over real words, padding never counted),
        `sentence_accuracy` (every tag right), `gold_slots`, `predicted_slots`,
        `correct_slots`, and `per_slot`: a `pandas.DataFrame` with one row per
        slot type (`slot`, `precision`, `recall`, `f1`, `support`, `predicted`).
    """
    if len(gold) != len(predicted):
        raise ValueError(f"{len(gold)} gold sentences but {len(predicted)} predicted")
    gold_count = collections.Counter()
    predicted_count = collections.Counter()
    correct_count = collections.Counter()
    tokens = correct_tokens = correct_sentences = 0
    for index, (gold_tags, predicted_tags) in enumerate(zip(gold, predicted)):
        if len(gold_tags) != len(predicted_tags):
            raise ValueError(
                f"sentence {index}: {len(gold_tags)} gold tags but {len(predicted_tags)} predicted"
            )
        gold_chunks = set(chunks(gold_tags))
        predicted_chunks = set(chunks(predicted_tags))
        gold_count.update(kind for kind, _, _ in gold_chunks)
        predicted_count.update(kind for kind, _, _ in predicted_chunks)
        correct_count.update(kind for kind, _, _ in gold_chunks & predicted_chunks)
        matches = sum(g == p for g, p in zip(gold_tags, predicted_tags))
        tokens += len(gold_tags)
        correct_tokens += matches
        correct_sentences += matches == len(gold_tags)

    rows = []
    for kind in sorted(set(gold_count) | set(predicted_count)):
        precision = _ratio(correct_count[kind], predicted_count[kind])
        recall = _ratio(correct_count[kind], gold_count[kind])
        rows.append(
            {
                "slot": kind,
                "precision": precision,
                "recall": recall,
                "f1": _f1(precision, recall),
                "support": gold_count[kind],
                "predicted": predicted_count[kind],
            }
        )
    per_slot = pd.DataFrame(rows, columns=["slot", "precision", "recall", "f1", "support", "predicted"])
    precision = _ratio(sum(correct_count.values()), sum(predicted_count.values()))
    recall = _ratio(sum(correct_count.values()), sum(gold_count.values()))
    return {
        "precision": precision,
        "recall": recall,
        "f1": _f1(precision, recall),
        "token_accuracy": _ratio(correct_tokens, tokens),
        "sentence_accuracy": _ratio(correct_sentences, len(gold)),
        "gold_slots": sum(gold_count.values()),
        "predicted_slots": sum(predicted_count.values()),
        "correct_slots": sum(correct_count.values()),
        "per_slot": per_slot,
    }


def slot_values(words, tags):
    """Merges BIO spans into `{slot type: words}`; repeated types get a list."""
    values = {}
    for kind, start, end in chunks(tags):
        text = " ".join(words[start:end])
        if kind not in values:
            values[kind] = text
        elif isinstance(values[kind], list):
            values[kind].append(text)
        else:
            values[kind] = [values[kind], text]
    return values
