"""The built-in `travel` dataset: determinism, shape, and the context property it exists to teach."""

import re
import time
from collections import Counter, defaultdict

import pytest

from data import generate_travel, load_dataset
from data.travel import DEMO_SENTENCES, HELD_OUT_AIRLINES, HELD_OUT_CITIES


@pytest.fixture(scope="module")
def travel():
    return generate_travel(seed=0)


def majority_tagger(split, key):
    """For each context `key(words, position)`, the tag seen most often in `split` (ties: alphabetical)."""
    counts = defaultdict(Counter)
    for words, tags in zip(split.words, split.tags):
        for position, tag in enumerate(tags):
            counts[key(words, position)][tag] += 1
    return {context: min(tally, key=lambda tag: (-tally[tag], tag)) for context, tally in counts.items()}


def accuracy(tagger, key, split, selected):
    right = total = 0
    for words, tags in zip(split.words, split.tags):
        for position, tag in enumerate(tags):
            if selected(words[position], tag):
                total += 1
                right += tagger.get(key(words, position), "O") == tag
    return right / total


def word_alone(words, position):
    return words[position]


def word_and_neighbours(words, position):
    before = words[position - 1] if position else "<s>"
    after = words[position + 1] if position + 1 < len(words) else "</s>"
    return before, words[position], after


def test_generation_has_the_requested_sizes_and_is_fast():
    start = time.perf_counter()
    dataset = generate_travel(seed=1)
    elapsed = time.perf_counter() - start
    assert (len(dataset.train), len(dataset.dev), len(dataset.test)) == (4000, 500, 500)
    assert elapsed < 3.0
    small = generate_travel(seed=1, train_size=7, dev_size=2, test_size=3)
    assert [len(split) for split in small.splits().values()] == [7, 2, 3]
    with pytest.raises(ValueError, match="train_size"):
        generate_travel(train_size=0)


def test_generation_is_deterministic_for_a_seed(travel):
    again = generate_travel(seed=0)
    assert again.splits() == travel.splits()
    assert load_dataset("travel").train == travel.train
    other = generate_travel(seed=1)
    assert other.train.words != travel.train.words
    # A fixed number, so that a change of the generator is noticed (and the seed means the same data everywhere).
    assert " ".join(travel.train.words[0]) == "flights to salt lake city december 12th"


def test_tags_are_well_formed_bio_and_intents_are_atis_intents(travel):
    for split in travel.splits().values():
        for words, tags in zip(split.words, split.tags):
            assert len(words) == len(tags) > 0
            for position, tag in enumerate(tags):
                assert tag == "O" or tag[:2] in ("B-", "I-")
                if tag.startswith("I-"):
                    assert tags[position - 1][2:] == tag[2:]
    intents = Counter(travel.train.intents)
    assert set(intents) == {"atis_flight", "atis_airfare", "atis_ground_service", "atis_airline", "atis_flight_time"}
    assert intents["atis_flight"] > len(travel.train) / 2


def test_no_sentence_repeats_across_splits_and_the_demo_sentences_never_occur(travel):
    texts = [" ".join(words) for split in travel.splits().values() for words in split.words]
    assert len(texts) == len(set(texts))
    assert not set(DEMO_SENTENCES) & set(texts)


def test_taipei_and_the_demo_phrasings_occur_in_train_in_both_roles(travel):
    taipei_tags = Counter(
        tag
        for words, tags in zip(travel.train.words, travel.train.tags)
        for word, tag in zip(words, tags)
        if word == "taipei"
    )
    assert taipei_tags["B-fromloc.city_name"] >= 20 and taipei_tags["B-toloc.city_name"] >= 20
    # "i would like to arrive <city> on <date>" and "leave <city> on <date>", the demo's two phrasings.
    phrasings = Counter()
    for words, tags in zip(travel.train.words, travel.train.tags):
        for opening in ("i would like to arrive", "leave"):
            start = len(opening.split())
            if " ".join(words[:start]) != opening or "on" not in words[start:]:
                continue
            on = words.index("on", start)
            city_tags = {tag[2:] for tag in tags[start:on]}
            date_tags = {tag[2:].split(".")[0] for tag in tags[on + 1:]}
            if words[start] != "in" and len(city_tags) == 1 and len(date_tags) == 1:
                phrasings[(opening, city_tags.pop(), date_tags.pop())] += 1
    assert phrasings[("i would like to arrive", "toloc.city_name", "arrive_date")] >= 10
    assert phrasings[("leave", "fromloc.city_name", "depart_date")] >= 10


def test_every_city_of_train_takes_both_roles(travel):
    roles = defaultdict(Counter)
    for words, tags in zip(travel.train.words, travel.train.tags):
        for word, tag in zip(words, tags):
            if tag.startswith("B-") and tag.endswith("city_name"):
                roles[word][tag] += 1
    assert len(roles) >= 35
    for city, tally in roles.items():
        assert tally["B-fromloc.city_name"] >= 10 and tally["B-toloc.city_name"] >= 10, city


def test_some_cities_and_airlines_occur_only_in_dev_and_test(travel):
    def words_of(split):
        return {" ".join(words) for words in split.words}

    train, dev, test = (" " + " ".join(words_of(split)) + " " for split in travel.splits().values())
    for name in HELD_OUT_CITIES + HELD_OUT_AIRLINES:
        assert f" {name} " not in train
    assert sum(f" {name} " in test for name in HELD_OUT_CITIES) >= 5
    assert sum(f" {name} " in dev for name in HELD_OUT_AIRLINES) >= 2


def test_a_tagger_that_sees_one_word_at_a_time_is_near_chance_on_cities(travel):
    # The lecture's point: the tag of a city depends on context. Fitted on train,
    # the most frequent tag of each word is right on at most ~60% of test city words,
    # even counting only the city words it has seen in train.
    tagger = majority_tagger(travel.train, word_alone)
    seen_cities = lambda word, tag: tag.endswith("city_name") and word in tagger  # noqa: E731
    all_cities = lambda word, tag: tag.endswith("city_name")  # noqa: E731
    assert accuracy(tagger, word_alone, travel.test, seen_cities) <= 0.60
    assert accuracy(tagger, word_alone, travel.test, all_cities) <= 0.50
    # Everything else it tags well: the hard part is the context, not the vocabulary.
    others = lambda word, tag: not tag.endswith("city_name") and word in tagger  # noqa: E731
    assert accuracy(tagger, word_alone, travel.test, others) >= 0.85


def test_dates_and_times_need_context_beyond_the_neighbouring_words(travel):
    # Whether "november 2nd" is a departure or an arrival date is decided by
    # "leave" or "arrive" several words back. A tagger that sees the word and its
    # two neighbours (backing off to the word alone for unseen triples) still gets
    # no more than ~3/4 of the test date and time words right.
    alone = majority_tagger(travel.train, word_alone)
    window = majority_tagger(travel.train, word_and_neighbours)
    right = total = 0
    for words, tags in zip(travel.test.words, travel.test.tags):
        for position, tag in enumerate(tags):
            if "_date." in tag or "_time." in tag:
                guess = window.get(word_and_neighbours(words, position), alone.get(words[position], "O"))
                right += guess == tag
                total += 1
    assert total >= 500
    assert right / total <= 0.75
    arrive = sum(tag.startswith("B-arrive_date") for tags in travel.train.tags for tag in tags)
    depart = sum(tag.startswith("B-depart_date") for tags in travel.train.tags for tag in tags)
    assert 0.2 <= arrive / (arrive + depart) <= 0.5


def test_dates_and_times_are_written_in_the_atis_ways(travel):
    texts = " | ".join(" ".join(words) for words in travel.train.words)
    month = "(january|february|march|april|may|june|july|august|september|october|november|december)"
    patterns = [
        rf" on {month} \d+(st|nd|rd|th) ",  # on november 2nd
        rf" on {month} (first|second|third|fourth|fifth|tenth|twentieth) ",  # on november second
        rf" on the \w+ of {month} ",  # on the 2nd of november
        r" on (monday|tuesday|wednesday|thursday|friday|saturday|sunday) ",
        r" at \d+ (am|pm) ",
        r" in the (morning|afternoon|evening) ",
    ]
    for pattern in patterns:
        assert len(re.findall(pattern, texts)) >= 10, pattern
    months = set(month.strip("()").split("|"))
    # "march twenty second": one day number over two words, B- then I-.
    found = 0
    for words, tags in zip(travel.train.words, travel.train.tags):
        for position in range(1, len(words) - 1):
            if words[position] == "twenty" and words[position - 1] in months:
                assert tags[position].startswith("B-") and tags[position].endswith("_date.day_number")
                assert tags[position + 1] == "I-" + tags[position][2:]
                assert tags[position - 1] == tags[position][:-len("day_number")] + "month_name"
                found += 1
    assert found >= 20
