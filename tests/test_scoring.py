import json
from pathlib import Path

import pytest

from recipes.scoring import chunks, score, slot_values

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
