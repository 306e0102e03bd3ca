"""The built-in `travel` dataset: determinism, shape, and the context property it exists to teach."""

import re
from collections import Counter, defaultdict

import pytest

from data import generate_travel, load_dataset, write_dataset
from data.readers import NO_CONTEXT
from data.travel import CUES, DEMO_SENTENCES, HELD_OUT_AIRLINES, HELD_OUT_CITIES


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


def test_generation_has_the_requested_sizes():
    # How fast it generates is a benchmark's question, not a test's: a shared machine makes timings flaky.
    dataset = generate_travel(seed=1)
    assert (len(dataset.train), len(dataset.dev), len(dataset.test)) == (2000, 500, 500)
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
            date_tags = {tag[2:].split(".")[0] for tag in tags[on + 1 :]}
            if words[start] != "in" and len(city_tags) == 1 and len(date_tags) == 1:
                phrasings[(opening, city_tags.pop(), date_tags.pop())] += 1
    # The default train split has 8 and 21 of them, enough for the main job to tag both demo sentences right.
    assert phrasings[("i would like to arrive", "toloc.city_name", "arrive_date")] >= 8
    assert phrasings[("leave", "fromloc.city_name", "depart_date")] >= 20


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
                assert tags[position - 1] == tags[position][: -len("day_number")] + "month_name"
                found += 1
    assert found >= 20


# --------------------------------------------------------------------------- context: cues and their distances

ROLE_OF_SLOT = {"fromloc": "depart", "depart_date": "depart", "toloc": "arrive", "arrive_date": "arrive"}


def marked_words(split):
    """(sentence, position, distance) of every word that `context` marks."""
    for number, distances in enumerate(split.context):
        for position, distance in enumerate(distances):
            if distance != NO_CONTEXT:
                yield number, position, distance


def test_context_marks_cities_and_dates_one_entry_per_word(travel):
    for split in travel.splits().values():
        assert len(split.context) == len(split.words)
        for words, distances in zip(split.words, split.context):
            assert len(distances) == len(words)
            assert all(distance == NO_CONTEXT or distance >= 1 for distance in distances)
        for number, position, _ in marked_words(split):
            tag = split.tags[number][position]
            assert tag[:2] in ("B-", "I-")
            assert tag[2:].split(".")[0] in ROLE_OF_SLOT, tag
    test = travel.test
    counts = Counter(test.tags[number][position][2:].split(".")[0] for number, position, _ in marked_words(test))
    assert min(counts.values()) >= 150 and sum(counts.values()) >= 1000  # cities and dates in both roles


def test_every_marked_word_has_its_cue_at_the_marked_distance(travel):
    for split in travel.splits().values():
        for number, position, distance in marked_words(split):
            words, tags = split.words[number], split.tags[number]
            role = ROLE_OF_SLOT[tags[position][2:].split(".")[0]]
            is_date = "_date." in tags[position]
            found = []
            for cue in (position - distance, position + distance):
                if 0 <= cue < len(words) and words[cue] in CUES and tags[cue] == "O":
                    cue_role, decides_dates = CUES[words[cue]]
                    # A date's cue is a verb of its role; a city's is of its role, or ("boston to denver") any cue.
                    if (decides_dates or not is_date) and (cue_role == role or not is_date):
                        found.append(cue)
            assert found, (" ".join(words), position, distance)


def test_unmarked_cities_and_dates_are_the_ones_no_cue_decides(travel):
    # Stops and ground-service cities have no arrive or leave cue; "flights from boston to denver on monday"
    # is a departure date by ATIS's custom. Every departure or arrival city is marked, but in "between boston
    # and denver", where the order decides.
    for split in travel.splits().values():
        for words, tags, distances in zip(split.words, split.tags, split.context):
            for tag, distance in zip(tags, distances):
                if tag[2:] in ("stoploc.city_name", "city_name") or tag == "O":
                    assert distance == NO_CONTEXT
                if tag[2:] in ("fromloc.city_name", "toloc.city_name") and "between" not in words:
                    assert distance != NO_CONTEXT


def long_range_sentences(split, at_least=6):
    """Sentences with a comma-delimited gap whose marked words lie `at_least` words or more from their cue."""
    return [
        number
        for number, distances in enumerate(split.context)
        if "," in split.words[number] and max(distances) >= at_least
    ]


def test_long_range_sentences_put_a_gap_between_the_cue_and_the_words_it_decides(travel):
    before = after = 0
    roles = Counter()
    for split in travel.splits().values():
        for number in long_range_sentences(split):
            words, tags, distances = split.words[number], split.tags[number], split.context[number]
            cue = next(position for position, word in enumerate(words) if word in CUES and CUES[word][1])
            for position, distance in enumerate(distances):
                if distance == NO_CONTEXT:
                    continue
                assert abs(position - cue) == distance
                before += cue < position
                after += cue > position
                roles[ROLE_OF_SLOT[tags[position][2:].split(".")[0]]] += 1
                # Between the cue and the word: no other cue, and no role but that of the words the cue decides.
                between = range(min(cue, position) + 1, max(cue, position))
                # (Only the cue's own neighbours: "i plan to arrive", "leave from on july 22nd".)
                allowed = {("to", cue - 1), ("from", cue + 1)}
                assert not any(words[p] in CUES and (words[p], p) not in allowed for p in between), " ".join(words)
                assert all(distances[p] != NO_CONTEXT for p in between if tags[p][2:].split(".")[0] in ROLE_OF_SLOT), (
                    " ".join(words)
                )
    assert before >= 900 and after >= 450  # the cue comes first, or after the city or date (976 and 523 here)
    assert 0.45 <= roles["arrive"] / (roles["arrive"] + roles["depart"]) <= 0.55


def test_gap_words_tell_nothing_about_the_role(travel):
    # The same fillers come after "arrive" as after "leave": their word counts differ only by chance.
    fillers = {"arrive": Counter(), "depart": Counter()}
    for number in long_range_sentences(travel.train):
        words, tags = travel.train.words[number], travel.train.tags[number]
        first, last = words.index(","), len(words) - 1 - words[::-1].index(",")
        role = next(ROLE_OF_SLOT[tag[2:].split(".")[0]] for tag in tags if tag[2:].split(".")[0] in ROLE_OF_SLOT)
        fillers[role].update(words[first + 1 : last])
        assert all(tag[2:].split(".")[0] not in ROLE_OF_SLOT for tag in tags[first + 1 : last])
    arrive, depart = fillers["arrive"], fillers["depart"]
    for word in set(arrive) | set(depart):
        if arrive[word] + depart[word] >= 100:
            assert 0.4 <= arrive[word] / (arrive[word] + depart[word]) <= 0.6, word


def test_cue_distance_and_long_range_share_are_honoured():
    near = generate_travel(seed=2, train_size=800, dev_size=20, test_size=20, max_cue_distance=10)
    far = generate_travel(seed=2, train_size=800, dev_size=20, test_size=20, max_cue_distance=30)
    for dataset, longest in ((near, 10), (far, 30)):
        found = max(distance for split in dataset.splits().values() for row in split.context for distance in row)
        assert longest - 3 <= found <= longest
    default = generate_travel(seed=2, train_size=800, dev_size=20, test_size=20)
    assert max(distance for row in default.train.context for distance in row) == 25
    none = generate_travel(seed=2, train_size=800, dev_size=20, test_size=20, long_range_share=0.0)
    half = generate_travel(seed=2, train_size=800, dev_size=20, test_size=20, long_range_share=0.5)
    assert not any("," in words for words in none.train.words)
    share = sum("," in words for words in half.train.words) / len(half.train)
    assert 0.40 <= share <= 0.52  # a few long-range sentences have no room for a gap
    # The template sentences come from a stream of their own: the long-range share does not change them.
    templated = [words for words in half.train.words if "," not in words]
    assert templated == none.train.words[: len(templated)]
    for argument, value in (("max_cue_distance", 3), ("max_cue_distance", 8.5), ("long_range_share", 1.5)):
        with pytest.raises(ValueError, match=argument):
            generate_travel(**{argument: value})


def test_a_tagger_that_sees_one_word_at_a_time_gets_about_half_of_the_context_words(travel):
    tagger = majority_tagger(travel.train, word_alone)
    right = total = 0
    for number, position, _ in marked_words(travel.test):
        right += tagger.get(travel.test.words[number][position], "O") == travel.test.tags[number][position]
        total += 1
    assert 0.40 <= right / total <= 0.55


def test_written_travel_folder_reads_back_with_its_context(tmp_path):
    small = generate_travel(seed=3, train_size=300, dev_size=40, test_size=40)
    write_dataset(small, tmp_path / "travel")
    first = (tmp_path / "travel" / "train" / "context").read_text().splitlines()[0]
    assert first.split() == ["-" if d == NO_CONTEXT else str(d) for d in small.train.context[0]]
    assert load_dataset(str(tmp_path / "travel")).splits() == small.splits()
