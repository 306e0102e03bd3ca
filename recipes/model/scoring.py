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
import itertools

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


def _per_label_table(name, gold_count, predicted_count, correct_count):
    """One row per label (slot type or intent): `name`, precision, recall, F1, support, predicted."""
    rows = []
    for label in sorted(set(gold_count) | set(predicted_count)):
        precision = _ratio(correct_count[label], predicted_count[label])
        recall = _ratio(correct_count[label], gold_count[label])
        rows.append([label, precision, recall, _f1(precision, recall), gold_count[label], predicted_count[label]])
    return pd.DataFrame(rows, columns=[name, "precision", "recall", "f1", "support", "predicted"])


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
            raise ValueError(f"sentence {index}: {len(gold_tags)} gold tags but {len(predicted_tags)} predicted")
        gold_chunks = set(chunks(gold_tags))
        predicted_chunks = set(chunks(predicted_tags))
        gold_count.update(kind for kind, _, _ in gold_chunks)
        predicted_count.update(kind for kind, _, _ in predicted_chunks)
        correct_count.update(kind for kind, _, _ in gold_chunks & predicted_chunks)
        matches = sum(g == p for g, p in zip(gold_tags, predicted_tags))
        tokens += len(gold_tags)
        correct_tokens += matches
        correct_sentences += matches == len(gold_tags)

    per_slot = _per_label_table("slot", gold_count, predicted_count, correct_count)
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


# Cue-distance buckets of `context_accuracy`: each bucket runs from its edge to the next one's, the last is open.
CONTEXT_BUCKETS = (1, 3, 6, 11, 16)


def _bucket_name(low, high):
    if high is None:
        return f"{low}+"
    return str(low) if high == low else f"{low}-{high}"


def context_accuracy(gold_tags, predicted_tags, context, buckets=CONTEXT_BUCKETS):
    """Accuracy on the words whose slot a cue elsewhere in the sentence decides.

    Args:
        gold_tags: list of sentences, each a list of gold tag strings.
        predicted_tags: predicted tag strings, the same lengths.
        context: per sentence, per word the distance in words to the cue that
            decides its slot, or a negative number (or None) for every other
            word (`data.Split.context`).
        buckets: ascending lower edges (at least 1) of the cue-distance
            buckets; `None` for one bucket per distance that occurs.

    Returns:
        A dict with `accuracy` (the fraction of marked words whose predicted
        tag is exactly the gold one; None without marked words), `count`,
        `correct`, `by_distance` (one dict per bucket that holds a word:
        `distances` as "1-2" or "16+", `low`, `high` (None for open),
        `count`, `correct`, `accuracy`) and `longest` (the bucket of the
        longest distances, or None).

        >>> context_accuracy([["O", "B-toloc.city_name"]], [["O", "B-fromloc.city_name"]], [[-1, 1]])["accuracy"]
        0.0
    """
    if not len(gold_tags) == len(predicted_tags) == len(context):
        raise ValueError(
            f"{len(gold_tags)} gold sentences, {len(predicted_tags)} predicted and {len(context)} context sequences"
        )
    right = collections.Counter()
    total = collections.Counter()
    for index, (gold, predicted, distances) in enumerate(zip(gold_tags, predicted_tags, context)):
        if not len(gold) == len(predicted) == len(distances):
            raise ValueError(
                f"sentence {index}: {len(gold)} gold tags, {len(predicted)} predicted "
                f"and {len(distances)} context entries"
            )
        for gold_tag, predicted_tag, distance in zip(gold, predicted, distances):
            if distance is None or distance < 0:
                continue
            total[distance] += 1
            right[distance] += gold_tag == predicted_tag
    if buckets is None:
        edges = sorted(total)
        ranges = [(distance, distance) for distance in edges]
    else:
        edges = list(buckets)
        if not edges or edges[0] < 1 or any(b <= a for a, b in itertools.pairwise(edges)):
            raise ValueError(f"buckets must be ascending lower edges of at least 1, got {buckets}")
        ranges = [(low, high - 1) for low, high in itertools.pairwise(edges)] + [(edges[-1], None)]
    by_distance = []
    for low, high in ranges:
        inside = [d for d in total if d >= low and (high is None or d <= high)]
        count = sum(total[d] for d in inside)
        if not count:
            continue
        correct = sum(right[d] for d in inside)
        by_distance.append(
            {
                "distances": _bucket_name(low, high),
                "low": low,
                "high": high,
                "count": count,
                "correct": correct,
                "accuracy": correct / count,
            }
        )
    below = [d for d in total if d < ranges[0][0]] if ranges else list(total)
    if below:
        raise ValueError(f"cue distance {min(below)} lies below the first bucket ({ranges[0][0]})")
    count, correct = sum(total.values()), sum(right.values())
    return {
        "accuracy": correct / count if count else None,
        "count": count,
        "correct": correct,
        "by_distance": by_distance,
        "longest": by_distance[-1] if by_distance else None,
    }


def intent_scores(gold_intents, predicted_intents, gold_tags=None, predicted_tags=None):
    """Intent accuracy, and with the tags the sentence-level semantic frame accuracy.

    Intents are compared as strings, so a multi-intent label such as
    `atis_flight#atis_airfare` is one label, right only when predicted whole,
    and a gold intent the model never saw in train is always wrong: nothing is
    dropped or remapped.

    Args:
        gold_intents: one gold intent string per sentence.
        predicted_intents: one predicted intent string per sentence.
        gold_tags, predicted_tags: the sentences' gold and predicted tags; with
            them the result also holds `frame_accuracy`.

    Returns:
        A dict with `intent_accuracy` (a fraction), `frame_accuracy` (the share
        of sentences whose intent and every tag are right; only with the tags)
        and `per_intent`: a `pandas.DataFrame` with one row per intent (`intent`,
        `precision`, `recall`, `f1`, `support`, `predicted`).

        >>> intent_scores(["atis_flight", "atis_fare"], ["atis_flight", "atis_flight"])["intent_accuracy"]
        0.5
    """
    if len(gold_intents) != len(predicted_intents):
        raise ValueError(f"{len(gold_intents)} gold intents but {len(predicted_intents)} predicted")
    right = [gold == predicted for gold, predicted in zip(gold_intents, predicted_intents)]
    gold_count = collections.Counter(gold_intents)
    predicted_count = collections.Counter(predicted_intents)
    correct_count = collections.Counter(gold for gold, ok in zip(gold_intents, right) if ok)
    result = {
        "intent_accuracy": _ratio(sum(right), len(right)),
        "per_intent": _per_label_table("intent", gold_count, predicted_count, correct_count),
    }
    if gold_tags is not None:
        if not len(gold_tags) == len(predicted_tags) == len(right):
            raise ValueError(
                f"{len(right)} intents but {len(gold_tags)} gold and {len(predicted_tags)} predicted tag sequences"
            )
        frames = [ok and list(g) == list(p) for ok, g, p in zip(right, gold_tags, predicted_tags)]
        result["frame_accuracy"] = _ratio(sum(frames), len(frames))
    return result
