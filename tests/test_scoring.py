import json
from pathlib import Path

import pytest

from recipes.inference.answers import slot_values
from recipes.model.scoring import chunks, context_accuracy, score

CASES = json.loads((Path(__file__).parent / "fixtures" / "seqeval_cases.json").read_text())


def test_chunks_follow_conlleval_starts_and_ends():
    tags = ["B-a", "I-a", "I-b", "O", "I-a", "B-a", "I-a", "I-a"]
    assert chunks(tags) == [("a", 0, 2), ("b", 2, 3), ("a", 4, 5), ("a", 5, 8)]


def test_i_tag_after_o_starts_a_chunk():
    assert chunks(["O", "I-toloc.city_name", "I-toloc.city_name"]) == [("toloc.city_name", 1, 3)]


def test_partial_span_is_wrong():
    result = score([["O", "B-city", "I-city"]], [["O", "B-city", "O"]])
    assert (result["precision"], result["recall"], result["f1"]) == (0.0, 0.0, 0.0)
    assert result["token_accuracy"] == pytest.approx(2 / 3)
    assert result["sentence_accuracy"] == 0.0


def test_micro_scores_over_slots():
    gold = [["B-a", "I-a", "O", "B-b"], ["B-c", "O"]]
    predicted = [["B-a", "I-a", "O", "B-c"], ["B-c", "B-b"]]
    result = score(gold, predicted)
    # gold slots: a, b, c; predicted: a, c, c, b; correct: a, c (second sentence)
    assert result["gold_slots"] == 3 and result["predicted_slots"] == 4 and result["correct_slots"] == 2
    assert result["precision"] == pytest.approx(0.5)
    assert result["recall"] == pytest.approx(2 / 3)
    assert result["f1"] == pytest.approx(4 / 7)
    table = result["per_slot"].set_index("slot")
    assert table.loc["c", "support"] == 1 and table.loc["c", "predicted"] == 2
    assert table.loc["b", "f1"] == 0.0


def test_gold_tag_never_predicted_counts_as_missed():
    gold = [["B-seen", "O", "B-unseen_in_train"]]
    predicted = [["B-seen", "O", "O"]]
    result = score(gold, predicted)
    assert result["precision"] == 1.0 and result["recall"] == 0.5
    assert "unseen_in_train" in set(result["per_slot"]["slot"])


@pytest.mark.parametrize("index", range(len(CASES)))
def test_scores_equal_seqeval_default_mode(index):
    case = CASES[index]
    result = score(case["gold"], case["predicted"])
    assert result["precision"] == pytest.approx(case["precision"], abs=1e-12)
    assert result["recall"] == pytest.approx(case["recall"], abs=1e-12)
    assert result["f1"] == pytest.approx(case["f1"], abs=1e-12)


def test_length_mismatch_is_an_error():
    with pytest.raises(ValueError, match="sentence 0"):
        score([["O", "O"]], [["O"]])


def test_slot_values_merge_spans_and_keep_repeats():
    words = "from new york to taipei and to boston".split()
    tags = ["O", "B-fromloc.city_name", "I-fromloc.city_name", "O", "B-toloc.city_name", "O", "O", "B-toloc.city_name"]
    assert slot_values(words, tags) == {"fromloc.city_name": "new york", "toloc.city_name": ["taipei", "boston"]}


def test_context_accuracy_counts_only_marked_words_overall_and_by_distance():
    gold = [
        ["O", "B-toloc.city_name", "O", "B-arrive_date.month_name", "B-arrive_date.day_number"],
        [
            "B-fromloc.city_name",
            "I-fromloc.city_name",
            "O",
            "O",
            "O",
            "O",
            "O",
            "O",
            "O",
            "O",
            "O",
            "O",
            "O",
            "O",
            "O",
            "O",
            "O",
            "O",
            "B-depart_date.day_name",
        ],
        ["O", "B-fromloc.city_name"],
    ]
    predicted = [
        ["O", "B-toloc.city_name", "O", "B-depart_date.month_name", "B-arrive_date.day_number"],
        [
            "B-toloc.city_name",
            "I-fromloc.city_name",
            "O",
            "O",
            "O",
            "O",
            "O",
            "O",
            "O",
            "O",
            "O",
            "O",
            "O",
            "O",
            "O",
            "O",
            "O",
            "O",
            "B-depart_date.day_name",
        ],
        ["B-airline_name", "B-fromloc.city_name"],  # a mistake on an unmarked word does not count
    ]
    context = [
        [-1, 1, -1, 3, 4],
        [17, 16] + [-1] * 16 + [1],
        [-1, 1],
    ]
    result = context_accuracy(gold, predicted, context)
    # Marked: 1 right, 3 wrong, 4 right; 17 wrong, 16 right, 1 right; 1 right.
    assert (result["count"], result["correct"]) == (7, 5)
    assert result["accuracy"] == pytest.approx(5 / 7)
    assert [(b["distances"], b["count"], b["correct"]) for b in result["by_distance"]] == [
        ("1-2", 3, 3),
        ("3-5", 2, 1),
        ("16+", 2, 1),
    ]
    assert result["by_distance"][1]["accuracy"] == 0.5
    assert result["longest"] == {"distances": "16+", "low": 16, "high": None, "count": 2, "correct": 1, "accuracy": 0.5}
    exact = context_accuracy(gold, predicted, context, buckets=None)
    assert [(b["distances"], b["count"], b["correct"]) for b in exact["by_distance"]] == [
        ("1", 3, 3),
        ("3", 1, 0),
        ("4", 1, 1),
        ("16", 1, 1),
        ("17", 1, 0),
    ]
    assert exact["longest"]["accuracy"] == 0.0
    wide = context_accuracy(gold, predicted, context, buckets=(1, 10))
    assert [(b["distances"], b["count"]) for b in wide["by_distance"]] == [("1-9", 5), ("10+", 2)]


def test_context_accuracy_without_marked_words_and_with_bad_input():
    result = context_accuracy([["O", "B-a"]], [["O", "O"]], [[None, -1]])
    assert result == {"accuracy": None, "count": 0, "correct": 0, "by_distance": [], "longest": None}
    with pytest.raises(ValueError, match="sentence 0: 2 gold tags, 2 predicted and 1 context entries"):
        context_accuracy([["O", "O"]], [["O", "O"]], [[1]])
    with pytest.raises(ValueError, match="1 gold sentences, 1 predicted and 2 context sequences"):
        context_accuracy([["O"]], [["O"]], [[1], [1]])
    with pytest.raises(ValueError, match="buckets must be ascending"):
        context_accuracy([["O"]], [["O"]], [[1]], buckets=(3, 2))
    with pytest.raises(ValueError, match="cue distance 1 lies below the first bucket"):
        context_accuracy([["O"]], [["O"]], [[1]], buckets=(2, 5))
