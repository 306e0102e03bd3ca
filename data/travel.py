"""The built-in `travel` dataset: ATIS-style flight requests generated from templates.

Every sentence is drawn from a template such as

    i would like to ^arrive {to} {arrive_date}
    ^from {from} i want to go ^to {to} {depart_date}
    {from} ^to {to} {depart_date}
    what ground transportation is available in {city}

and is tagged with ATIS's slot names (`B-fromloc.city_name`,
`B-arrive_date.month_name`, `B-depart_time.period_of_day`, ...) and intents
(`atis_flight`, `atis_airfare`, `atis_ground_service`, `atis_airline`,
`atis_flight_time`).

What it is built to teach: the same word takes different tags, and the word
that decides is elsewhere in the sentence. Every city is a departure city as
often as a destination (and sometimes a stop, or the city of a ground-service
question); "november 2nd" is a departure date after "leave ... on" and an
arrival date after "arrive ... on", three words further back; "boston to
denver" puts the decisive "to" after the first city. A tagger that looks at one
word at a time is right on about half of the city words (the test suite
measures it); a recurrent network that carries context, especially a
bidirectional one, gets nearly all of them.

A quarter of the sentences (`long_range_share`) put a gap of fillers between
the cue and the city or date it decides, up to `max_cue_distance` words, with
the cue first or last:

    i would like to arrive , on a nonstop flight with delta if possible , at taipei on monday
    taipei , preferably in first class , is where i want to leave from on november 2nd

The fillers are the same after "arrive" as after "leave" (their airlines,
classes and fares are tagged as ATIS tags them, the rest O), so only the cue
tells the roles apart, and only a memory that lasts the whole gap keeps it:
an Elman network's fades, an LSTM's or a GRU's gates hold it.

The generator knows which words a cue decides (the `^word`s of the
templates, see `CUES`), and says so in each split's `context`: per word the
distance in words to its cue, or -1. For the first sentence above, the line
of the `context` file that `python -m data write travel DIR` writes is

    - - - - - - - - - - - - - - - - 12 - 14

("taipei" is 12 words after "arrive", "monday" 14).
`recipes.model.scoring.context_accuracy` scores a tagger on those words, by distance.

Some cities and airlines never occur in train, only in dev and test, so the
scores also show what happens to words the model has never seen. No sentence
occurs twice across the splits, and the two sentences of the recipes' demo
(`DEMO_SENTENCES`) never occur at all: the demo shows generalisation, not recall.

Generation is deterministic for a seed (on every Python version) and takes a
fraction of a second for the default 2,000 / 500 / 500 sentences. Twice the
training sentences taught the main job's LSTM nothing more (with gaps of up to
20 words: test slot F1 99.19 against 98.93, context accuracy 98.77 against
98.99) and made its training take 146 s instead of 83 (README, "The built-in
travel data").

The words, cues and templates are in `data.travel_templates`, the date and time
phrases in `data.travel_phrases`; this module puts them together into sentences.
"""

from __future__ import annotations

from data._random import StableRandom
from data.readers import NO_CONTEXT, Dataset, Split
from data.travel_phrases import clock_time, date_phrase, tagged, time_phrase
from data.travel_templates import (  # noqa: F401  (names the tests and other modules read from here)
    AIRLINES,
    CITIES,
    CLASSES,
    COST_RELATIVE,
    CUED_SLOTS,
    CUES,
    DEMO_SENTENCES,
    FLIGHT_MODS,
    FLIGHT_STOPS,
    GAP_FILLERS,
    GAP_WORDS,
    HELD_OUT_AIRLINE_RATE,
    HELD_OUT_AIRLINES,
    HELD_OUT_CITIES,
    HELD_OUT_CITY_RATE,
    INTENTS,
    LONG_RANGE_FRAMES,
    LONG_RANGE_INTROS,
    LONG_RANGE_PARTICLES,
    LONG_RANGE_SHARE,
    LONG_RANGE_VERBS,
    MAX_CUE_DISTANCE,
    MONTHS,
    OPENINGS,
    ORDINAL_WORDS,
    PERIODS,
    ROUND_TRIPS,
    TEMPLATES,
    TRANSPORTS,
    WEEKDAYS,
)


def cue_distances(tags: list[str], slots: list[tuple[str, int, int]], cues: list[tuple[int, str]]) -> list[int]:
    """Per word, the distance to the cue that decides its role, or `NO_CONTEXT`.

    A city takes the nearest cue of its role ("from" or "leave" for a departure
    city), or failing that the nearest cue of any role ("boston to denver": "to"
    decides "boston" too). A date takes the nearest cue verb of its role; a date
    with none ("flights from boston to denver on monday") is a departure date by
    ATIS's custom, not by a cue, and is not marked. Only tagged words are marked
    ("november 2nd", not "on").
    """
    distances = [NO_CONTEXT] * len(tags)
    for slot, start, end in slots:
        role = CUED_SLOTS.get(slot)
        if role is None:
            continue
        is_date = slot.endswith("_date")
        candidates = [position for position, word in cues if CUES[word][0] == role and (CUES[word][1] or not is_date)]
        if not candidates and not is_date:
            candidates = [position for position, _ in cues]
        if not candidates:
            continue
        cue = min(candidates, key=lambda position: (min(abs(position - start), abs(position - end + 1)), position))
        for position in range(start, end):
            if tags[position] != "O":
                distances[position] = abs(position - cue)
    return distances


class SentenceMaker:
    """Fills templates for one split; dev and test makers may draw held-out names."""

    def __init__(self, rng: StableRandom, held_out: bool):
        self.rng = rng
        self.held_out = held_out
        self.weights = [weight for _, weight, _ in TEMPLATES]

    def name(self, common, held_out, rate, taken=()):
        for _ in range(100):
            pool = held_out if self.held_out and self.rng.chance(rate) else common
            choice = self.rng.choice(pool)
            if choice not in taken:
                return choice
        raise RuntimeError("could not draw distinct names")

    def sentence(self) -> tuple[list[str], list[str], str, list[int]]:
        """A sentence from the templates: words, tags, intent and the cue distance of every word."""
        intent, _, templates = TEMPLATES[self.rng.weighted(self.weights)]
        template = self.rng.choice(templates)
        cities: dict[str, str] = {}
        pairs: list[tuple[str, str]] = []
        cues: list[tuple[int, str]] = []  # (position, cue word)
        slots: list[tuple[str, int, int]] = []  # (template slot, first word, end)
        for piece in template.split():
            if piece.startswith("?"):
                if not self.rng.chance(0.5):
                    continue
                piece = piece[1:]
            if piece.startswith("^"):
                cues.append((len(pairs), piece[1:]))
                pairs.append((piece[1:], "O"))
            elif piece.startswith("{"):
                start = len(pairs)
                pairs.extend(self.expand(piece[1:-1], cities))
                slots.append((piece[1:-1], start, len(pairs)))
            else:
                pairs.append((piece, "O"))
        tags = [tag for _, tag in pairs]
        return [word for word, _ in pairs], tags, intent, cue_distances(tags, slots, cues)

    def long_range_sentence(self, max_cue_distance: int) -> tuple[list[str], list[str], str, list[int]]:
        """A sentence whose cue stands a gap of fillers away from the city or date it decides."""
        rng = self.rng
        frame, side = rng.choice(LONG_RANGE_FRAMES)
        role = rng.choice(("arrive", "depart"))
        verb = rng.choice(LONG_RANGE_VERBS[role])
        if side == "after" and "{place}" in frame and LONG_RANGE_PARTICLES[role]:
            verb += " " + LONG_RANGE_PARTICLES[role]
        slot_of_place = "to" if role == "arrive" else "from"
        pieces: list = []  # tagged words, ("place" or "date", tagged words), or the markers "cue" and "gap"
        for piece in frame.split():
            if piece.startswith("?"):
                if not rng.chance(0.5):
                    continue
                piece = piece[1:]
            if piece == "{intro}":
                pieces.append(tagged(rng.choice(LONG_RANGE_INTROS[side]), None))
            elif piece == "{verb}":
                pieces.append("cue")
                pieces.append(tagged(verb, None)[1:])
            elif piece in ("{at}", "{at_place}"):
                pieces.append(tagged(rng.choice(("in", "at")), None))
                if piece == "{at_place}":
                    pieces.append(("place", self.expand(slot_of_place, {})))
            elif piece == "{place}":
                pieces.append(("place", self.expand(slot_of_place, {})))
            elif piece == "{date}":
                pieces.append(("date", date_phrase(rng, role)))
            elif piece == "{gap}":
                pieces.append("gap")
            else:
                pieces.append(tagged(piece, None))

        # The gap takes what the longest cue distance leaves: lay the sentence out without it first.
        def layout(gap_words):
            pairs, slots, cue = [], [], None
            for piece in pieces:
                if piece == "cue":
                    cue = len(pairs)
                    pairs.append((verb.split()[0], "O"))
                elif piece == "gap":
                    pairs.extend(gap_words)
                elif isinstance(piece, tuple):
                    name, words = piece
                    slot = slot_of_place if name == "place" else f"{role}_date"
                    slots.append((slot, len(pairs), len(pairs) + len(words)))
                    pairs.extend(words)
                else:
                    pairs.extend(piece)
            return pairs, slots, cue

        pairs, slots, cue = layout([])  # the commas around the gap included
        farthest = max(max(abs(p - cue) for p in range(start, end)) for _, start, end in slots)
        budget = max_cue_distance - farthest
        if budget < 1:  # no room for a gap: the cue stands next to the words it decides
            pieces = [piece for piece in pieces if piece != "gap" and piece != [(",", "O")]]
            pairs, slots, cue = layout([])
        else:
            pairs, slots, cue = layout(self.gap(rng.integer(1, budget)))
        tags = [tag for _, tag in pairs]
        return [word for word, _ in pairs], tags, "atis_flight", cue_distances(tags, slots, [(cue, verb.split()[0])])

    def gap(self, length: int) -> list[tuple[str, str]]:
        """Exactly `length` filler words, tagged as ATIS tags them (airlines, classes, fares; the rest O)."""
        words: list[tuple[str, str]] = []
        while len(words) < length:
            for _ in range(4):  # a few tries at a filler that fits, then one word
                filler = []
                for piece in self.rng.choice(GAP_FILLERS).split():
                    filler.extend(self.expand(piece[1:-1], {}) if piece.startswith("{") else tagged(piece, None))
                if len(words) + len(filler) <= length:
                    break
            else:
                filler = tagged(self.rng.choice(GAP_WORDS), None)
            words.extend(filler)
        return words

    def expand(self, slot: str, cities: dict[str, str]) -> list[tuple[str, str]]:
        rng = self.rng
        roles = {"from": "fromloc.city_name", "to": "toloc.city_name", "stop": "stoploc.city_name", "city": "city_name"}
        if slot in roles:
            if slot not in cities:
                cities[slot] = self.name(CITIES, HELD_OUT_CITIES, HELD_OUT_CITY_RATE, taken=set(cities.values()))
            return tagged(cities[slot], roles[slot])
        if slot == "show":
            return tagged(rng.choice(OPENINGS), None)
        if slot == "depart_date":
            return date_phrase(rng, "depart")
        if slot == "arrive_date":
            return date_phrase(rng, "arrive")
        if slot == "depart_time":
            return time_phrase(rng, "depart")
        if slot == "arrive_time":
            return time_phrase(rng, "arrive")
        if slot == "arrive_by":
            return tagged("by", "arrive_time.time_relative") + tagged(clock_time(rng), "arrive_time.time")
        if slot == "airline":
            return tagged(self.name(AIRLINES, HELD_OUT_AIRLINES, HELD_OUT_AIRLINE_RATE), "airline_name")
        if slot == "class":
            return tagged(rng.choice(CLASSES), "class_type")
        if slot == "cheapest":
            return tagged(rng.choice(COST_RELATIVE), "cost_relative")
        if slot == "mod":
            return tagged(rng.choice(FLIGHT_MODS), "flight_mod")
        if slot == "stop_kind":
            return tagged(rng.choice(FLIGHT_STOPS), "flight_stop")
        if slot == "trip":
            return tagged(rng.choice(ROUND_TRIPS), "round_trip")
        if slot == "transport":
            return tagged(rng.choice(TRANSPORTS), "transport_type")
        raise KeyError(f"unknown template slot {slot!r}")


def generate_travel(
    seed: int = 0,
    train_size: int = 2000,
    dev_size: int = 500,
    test_size: int = 500,
    long_range_share: float = LONG_RANGE_SHARE,
    max_cue_distance: int = MAX_CUE_DISTANCE,
) -> Dataset:
    """Generate the `travel` dataset.

    Args:
        seed: the same seed gives the same dataset (on every Python version).
        train_size, dev_size, test_size: sentences per split (each at least 1).
        long_range_share: the share of sentences whose cue stands a gap of
            fillers away from the city or date it decides (0 to 1).
        max_cue_distance: the longest distance, in words, between a cue and a
            word it decides, in every sentence (at least 4); the gaps of the
            long-range sentences reach up to it.

    Returns:
        A `Dataset` named "travel" with intents and `context` (every word's
        distance to the cue that decides its slot). Each split has its own
        random streams, and no sentence occurs twice anywhere in the dataset.
    """
    for argument, value in (("train_size", train_size), ("dev_size", dev_size), ("test_size", test_size)):
        if not isinstance(value, int) or value < 1:
            raise ValueError(
                f"Received an invalid value for argument {argument}, expected a positive integer, got {value}."
            )
    if not isinstance(long_range_share, (int, float)) or not 0.0 <= long_range_share <= 1.0:
        raise ValueError(
            "Received an invalid value for argument long_range_share, expected a number from 0 to 1, "
            f"got {long_range_share}."
        )
    if not isinstance(max_cue_distance, int) or max_cue_distance < 4:
        raise ValueError(
            "Received an invalid value for argument max_cue_distance, expected an integer of at least 4, "
            f"got {max_cue_distance}."
        )
    seen = set(DEMO_SENTENCES)
    splits = {}
    for split_name, size in (("train", train_size), ("dev", dev_size), ("test", test_size)):
        held_out = split_name != "train"
        maker = SentenceMaker(StableRandom(f"travel:{seed}:{split_name}"), held_out=held_out)
        # The long-range sentences draw from a stream of their own, so the template sentences stay the same
        # whatever their share.
        long_maker = SentenceMaker(StableRandom(f"travel:{seed}:{split_name}:long-range"), held_out=held_out)
        words, tags, intents, context = [], [], [], []
        while len(words) < size:
            long_range = long_maker.rng.chance(long_range_share)
            for _ in range(1000):
                if long_range:
                    sentence, sentence_tags, intent, distances = long_maker.long_range_sentence(max_cue_distance)
                else:
                    sentence, sentence_tags, intent, distances = maker.sentence()
                text = " ".join(sentence)
                if text not in seen and max(distances) <= max_cue_distance:
                    break
            else:
                raise RuntimeError("the templates cannot produce that many different sentences")
            seen.add(text)
            words.append(sentence)
            tags.append(sentence_tags)
            intents.append(intent)
            context.append(distances)
        splits[split_name] = Split(words=words, tags=tags, intents=intents, context=context)
    return Dataset(name="travel", **splits)
