"""What a tagger answers for one sentence: its words, their tags, the slots they spell, the intent.

    {"words": ["leave", "taipei", "on", "november", "2nd"],
     "tags": ["O", "B-fromloc.city_name", "O", "B-depart_date.month_name", "B-depart_date.day_number"],
     "slots": {"fromloc.city_name": "taipei", "depart_date.month_name": "november", ...},
     "intent": "atis_flight", "intent_confidence": 0.998}

`intent` and `intent_confidence` only come from a model with an intent
head; a sentence without words has no tags, no slots and (with an intent
head) `null` for both. Slots are read from the tags as conlleval reads
them (`recipes.model.scoring.chunks`), so an answer's slots are the ones the
test scores count.
"""

from recipes.model.scoring import chunks


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


def answer(words, tags, intent_head=False, intent=None, intent_confidence=None):
    """The answer for one sentence, as `recipes.predict` prints it and `POST /tag` returns it."""
    result = {"words": list(words), "tags": list(tags), "slots": slot_values(words, tags)}
    if intent_head:
        result["intent"] = intent
        result["intent_confidence"] = intent_confidence
    return result
