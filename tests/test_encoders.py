"""`data.Encoder`: word, trigram and tag ids, fitted on train, saved as JSON."""

import json
import re

import numpy as np
import pytest

from data import DatasetError, Encoder

WORDS = [
    ["Flights", "from", "Boston", "to", "Denver"],
    ["flights", "to", "Taipei", "on", "november", "2nd"],
    ["leave", "boston", "at", "645", "am"],
]
TAGS = [
    ["O", "O", "B-fromloc.city_name", "O", "B-toloc.city_name"],
    ["O", "O", "B-toloc.city_name", "O", "B-depart_date.month_name", "B-depart_date.day_number"],
    ["O", "B-fromloc.city_name", "O", "B-depart_time.time", "I-depart_time.time"],
]


@pytest.fixture
def encoder():
    return Encoder.fit(WORDS, TAGS)


def test_word_ids_follow_frequency_with_pad_and_other_reserved(encoder):
    # boston, flights, to: twice each (alphabetical among equals); then the rest once, alphabetically.
    assert encoder.words == [
        "<pad>",
        "<other>",
        "boston",
        "flights",
        "to",
        "000",
        "0nd",
        "am",
        "at",
        "denver",
        "from",
        "leave",
        "november",
        "on",
        "taipei",
    ]
    assert encoder.word_vocabulary_size == 15
    assert (Encoder.PAD, Encoder.OTHER) == (0, 1)
    # Lowercased, digits as 0: "2ND" -> "0nd" (id 6), "915" -> "000" (id 5); "december" and "0rd" never occur.
    sentence = ["FLIGHTS", "to", "Taipei", "on", "december", "2ND", "915", "3rd"]
    assert encoder.encode_words(sentence) == [3, 4, 14, 13, 1, 6, 5, 1]


def test_unknown_words_are_other_never_padding(encoder):
    ids = encoder.encode_words(["zurich", "<pad>", "<other>", "", "flights"])
    assert ids == [1, 1, 1, 1, 3]


def test_normalize_follows_the_options():
    assert Encoder.fit(WORDS, TAGS).normalize("Flight-2B") == "flight-0b"
    assert Encoder.fit(WORDS, TAGS, lowercase=False).normalize("Flight-2B") == "Flight-0B"
    assert Encoder.fit(WORDS, TAGS, normalize_digits=False).normalize("Flight-2B") == "flight-2b"
    raw = Encoder.fit(WORDS, TAGS, lowercase=False, normalize_digits=False)
    expected = [raw.words.index(word) for word in ("Boston", "boston", "2nd", "645")] + [1, 1]
    assert raw.encode_words(["Boston", "boston", "2nd", "645", "646", "BOSTON"]) == expected
    assert len(set(expected[:4])) == 4 and min(expected[:4]) >= 2


def test_min_count_sends_rare_words_to_other():
    encoder = Encoder.fit(WORDS, TAGS, min_count=2)
    assert encoder.words == ["<pad>", "<other>", "boston", "flights", "to"]
    assert encoder.encode_words(["to", "denver"]) == [4, 1]


def test_trigrams_of_apple_with_and_without_boundaries():
    plain = Encoder.fit(WORDS, TAGS, trigram_boundary=False)
    marked = Encoder.fit(WORDS, TAGS, trigram_boundary=True)
    assert plain.trigrams("apple") == ["app", "ppl", "ple"]
    assert marked.trigrams("apple") == ["#ap", "app", "ppl", "ple", "le#"]
    assert marked.trigrams("Apple") == ["#ap", "app", "ppl", "ple", "le#"]
    assert marked.trigrams("2nd") == ["#0n", "0nd", "nd#"]
    # Short words are their own single trigram (with boundaries, "a" is "#a#").
    assert plain.trigrams("to") == ["to"] and plain.trigrams("a") == ["a"]
    assert marked.trigrams("to") == ["#to", "to#"] and marked.trigrams("a") == ["#a#"]


def test_encode_trigrams_pads_truncates_and_marks_unknown_trigrams():
    encoder = Encoder.fit([["to", "tokyo"]], [["O", "B-toloc.city_name"]], max_trigrams=4)
    # Trigram counts: "#to" 2; "to#", "tok", "oky", "kyo", "yo#" 1 each ("#" sorts before letters).
    assert encoder.trigram_vocabulary == ["<pad>", "<other>", "#to", "kyo", "oky", "to#", "tok", "yo#"]
    assert encoder.trigram_vocabulary_size == 8
    rows = encoder.encode_trigrams(["to", "tokyo", "toto", "a"])
    assert rows == [
        [2, 5, 0, 0],  # #to, to#
        [2, 6, 4, 3],  # #to, tok, oky, kyo (yo# cut: only 4 kept)
        [2, 1, 1, 5],  # #to, tot (unknown), oto (unknown), to#
        [1, 0, 0, 0],  # #a# unknown: still one non-zero id
    ]


def test_every_word_gets_a_full_row_with_a_non_zero_id(encoder):
    words = ["x", "antidisestablishmentarianism", "to", "☃", "boston"]
    rows = np.array(encoder.encode_trigrams(words))
    assert rows.shape == (5, 16)
    assert (rows[:, 0] > 0).all()
    assert rows.max() < encoder.trigram_vocabulary_size


def test_tags_put_o_first_and_round_trip(encoder):
    assert encoder.tags == [
        "O",
        "B-depart_date.day_number",
        "B-depart_date.month_name",
        "B-depart_time.time",
        "B-fromloc.city_name",
        "B-toloc.city_name",
        "I-depart_time.time",
    ]
    assert encoder.num_tags == 7
    ids = encoder.encode_tags(TAGS[2])
    assert ids == [0, 4, 0, 3, 6]
    assert encoder.decode_tags(np.array(ids)) == TAGS[2]
    with pytest.raises(ValueError, match="tag id 7"):
        encoder.decode_tags([7])


def test_a_tag_unseen_in_train_raises_unless_mapped_to_o(encoder):
    with pytest.raises(DatasetError, match="'B-flight' does not occur in the training data"):
        encoder.encode_tags(["O", "B-flight"])
    assert encoder.encode_tags(["O", "B-flight", "B-toloc.city_name"], unknown="O") == [0, 0, 5]
    with pytest.raises(ValueError, match="unknown"):
        encoder.encode_tags(["B-flight"], unknown="B-flight")


def test_config_round_trip_gives_the_same_encoder(encoder):
    config = encoder.get_config()
    json.dumps(config)  # plain JSON types only
    rebuilt = Encoder.from_config(json.loads(json.dumps(config)))
    assert rebuilt.get_config() == config
    sentence = ["Flights", "to", "Zurich", "on", "november", "21st"]
    assert rebuilt.encode_words(sentence) == encoder.encode_words(sentence)
    assert rebuilt.encode_trigrams(sentence) == encoder.encode_trigrams(sentence)


def test_save_and_load_through_a_json_file(encoder, tmp_path):
    path = tmp_path / "encoder.json"
    encoder.save(path)
    assert json.loads(path.read_text())["format"] == "slot-rnn-encoder"
    assert Encoder.load(path).get_config() == encoder.get_config()
    encoder.save(path)  # overwriting works and leaves no temporary file
    assert [p.name for p in tmp_path.iterdir()] == ["encoder.json"]


@pytest.mark.parametrize(
    "tamper, message",
    [
        (lambda c: c.update(words=c["words"][1:]), "'words' must start with '<pad>', '<other>'"),
        (lambda c: c.update(max_trigrams="16"), "'max_trigrams' must be an integer"),
        (lambda c: c.update(max_trigrams=10**9), "'max_trigrams' must be an integer"),
        (lambda c: c.update(tags=["O", "O"]), "'tags' must be a non-empty list of distinct tags"),
        (lambda c: c.update(trigrams=c["trigrams"] + [3]), "'trigrams' must be a list of non-empty strings"),
        (lambda c: c.pop("lowercase"), "'lowercase' must be true or false"),
        (lambda c: c.update(format="keras"), "not a slot-rnn-encoder version 1 config"),
    ],
)
def test_a_tampered_file_raises_dataset_error_naming_it(encoder, tmp_path, tamper, message):
    config = encoder.get_config()
    tamper(config)
    path = tmp_path / "encoder.json"
    path.write_text(json.dumps(config))
    with pytest.raises(DatasetError) as error:
        Encoder.load(path)
    assert str(error.value).startswith(f"{path}: ")
    assert message in str(error.value)


def test_a_corrupted_file_raises_dataset_error_naming_file_and_line(encoder, tmp_path):
    path = tmp_path / "encoder.json"
    encoder.save(path)
    path.write_text(path.read_text()[:200])
    with pytest.raises(DatasetError, match=re.escape(str(path)) + r" line \d+: not valid JSON"):
        Encoder.load(path)
    path.write_bytes(b"\xff\xfe{}")
    with pytest.raises(DatasetError, match="not UTF-8"):
        Encoder.load(path)
    with pytest.raises(DatasetError, match="no such file"):
        Encoder.load(tmp_path / "missing.json")


def test_fit_rejects_mismatched_input_and_bad_options():
    with pytest.raises(DatasetError, match="sentence 1: 1 tags for 2 words"):
        Encoder.fit([["a", "b"]], [["O"]])
    with pytest.raises(ValueError, match="min_count"):
        Encoder.fit(WORDS, TAGS, min_count=0)
    with pytest.raises(ValueError, match="max_trigrams"):
        Encoder.fit(WORDS, TAGS, max_trigrams=0)
