"""Files whose layout is ambiguous, and the `columns` option that settles it: the one-line errors
that ask for it, what it overrides, its parsing, and `python -m data describe --columns`."""

import json
import subprocess
import sys

import pytest

from data import ColumnSpec, DatasetError, load_dataset, parse_columns
from data.delimited import read_table_file
from support import REPO_ROOT, WEATHER_CONLLU, read_whole, write

# --------------------------------------------------------------------------- ambiguity and the columns option


def test_a_file_whose_word_column_also_looks_like_tags_is_ambiguous_with_one_line(tmp_path):
    path = write(tmp_path / "amb.bio", "\n# comment\nB-x\tO\nO\tO\n\nO\tO\n")
    with pytest.raises(DatasetError) as error:
        read_whole(path)
    assert str(error.value) == (
        f"{path} line 3: columns 1 and 2 could each be the tag column; "
        "choose with --columns word=N,tag=N[,intent=N] (columns counted from 1)"
    )


def test_two_word_columns_or_two_intent_columns_are_ambiguous(tmp_path):
    words = write(tmp_path / "w.conll", "B-x to TO\nO boston NNP\n")
    with pytest.raises(DatasetError, match=r"w.conll line 1: columns 2 and 3 could each be the word column; choose"):
        read_whole(words)
    intents = write(tmp_path / "i.conll", "to a b O\nrome a b B-city\n\nto c d O\n")
    with pytest.raises(DatasetError, match=r"i.conll line 1: columns 2 and 3 could each be the intent column"):
        read_whole(intents)


def test_columns_option_settles_an_ambiguous_file(tmp_path):
    path = write(tmp_path / "amb.conll", "O\tB-x\nO\tO\n\nO\tO\n\n" * 4)
    split, columns = read_whole(path, "word=1,tag=2")
    assert columns == ColumnSpec(word=1, tag=2)
    assert split.words[:2] == [["O", "O"], ["O"]] and split.tags[:2] == [["B-x", "O"], ["O"]]
    dataset = load_dataset(str(path), columns=ColumnSpec(word=1, tag=2), dev_fraction=0.2)
    assert dataset.notes == [f"{path}: columns word=1,tag=2 (as given)"]


def test_columns_option_overrides_detection_and_intent_comments_still_count(tmp_path):
    split, columns = read_whole(write(tmp_path / "en.conllu", WEATHER_CONLLU), "tag=4, word=3")
    assert columns == ColumnSpec(word=3, tag=4)
    assert split.words[1] == ["alarm/set_alarm"] * 6
    assert split.intents == ["weather/find", "alarm/set_alarm"]


def test_an_intent_column_given_by_columns_must_repeat_through_the_sentence(tmp_path):
    path = write(tmp_path / "en.conllu", WEATHER_CONLLU)
    with pytest.raises(DatasetError, match=r"en.conllu line 4: intent '2' differs from '1' on line 3"):
        read_whole(path, "word=2,tag=4,intent=1")


def test_intent_comment_that_contradicts_the_intent_column_is_an_error(tmp_path):
    path = write(tmp_path / "en.conllu", WEATHER_CONLLU.replace("# intent = weather/find", "# intent = weather/rain"))
    with pytest.raises(DatasetError, match=r"en.conllu line 2: '# intent' says 'weather/rain' but column 3 says"):
        read_whole(path)


def test_a_sentence_without_an_intent_comment_among_others_is_an_error(tmp_path):
    path = write(tmp_path / "c.conll", "# intent = a\nto O\nrome B-city\n\nto O\noslo B-city\n")
    with pytest.raises(DatasetError, match=r"c.conll line 5: a sentence without an intent, though others have one"):
        read_whole(path)


def test_a_row_too_short_for_the_given_columns_names_its_line(tmp_path):
    path = write(tmp_path / "s.conll", "1 to O\n2 rome B-city\n\n1 oslo\n")
    with pytest.raises(DatasetError, match=r"s.conll line 4: 2 columns, but columns word=2,tag=3 names column 3"):
        read_whole(path, "word=2,tag=3")


def test_parse_columns_reads_the_spec_and_refuses_bad_ones():
    assert parse_columns("word=2,tag=4,intent=3") == ColumnSpec(word=2, tag=4, intent=3)
    assert parse_columns(" Tag = 1 , word = 2 ") == ColumnSpec(word=2, tag=1)
    assert str(ColumnSpec(word=2, tag=4, intent=3)) == "word=2,tag=4,intent=3"
    assert parse_columns(None) is None
    bad = {
        "word=2": "no tag= column",
        "word=2,tag=0": "'0' is not a column number",
        "word=2,tag=x": "'x' is not a column number",
        "word=2,tag=2": "two names share one column",
        "word=1,tag=2,word=3": "word is given twice",
        "word=1,slot=2": "unknown column name 'slot'",
        "word:1,tag:2": "'word:1' is not name=number",
        "": "'' is not name=number",
    }
    for text, problem in bad.items():
        with pytest.raises(DatasetError) as error:
            parse_columns(text)
        assert str(error.value) == f"columns {text!r}: {problem} (expected word=N,tag=N[,intent=N], N counted from 1)"


def test_columns_for_a_csv_file_pick_fields_by_number(tmp_path):
    path = write(
        tmp_path / "multiatis.tsv",
        "id\tutterance\tslot_labels\tintent\n"
        "1\tto rome\tO B-city\tatis_flight\n2\tfares\tO\tatis_airfare\n"
        "3\tto oslo\tO B-city\tatis_flight\n",
    )
    dataset = load_dataset(str(path), columns="word=2,tag=3,intent=4", dev_fraction=0.3)
    everything = dataset.train.words + dataset.dev.words + dataset.test.words
    assert sorted(map(" ".join, everything)) == ["fares", "to oslo", "to rome"]
    intents = dataset.train.intents + dataset.dev.intents + dataset.test.intents
    assert sorted(intents) == ["atis_airfare", "atis_flight", "atis_flight"]
    with pytest.raises(DatasetError, match=r"multiatis.tsv line 1: the header has 4 fields, but columns word=2,tag=5"):
        load_dataset(str(path), columns="word=2,tag=5")


def test_columns_for_a_folder_or_a_named_dataset_are_an_error(tmp_path):
    (tmp_path / "d").mkdir()
    with pytest.raises(DatasetError, match=r"d: a dataset folder has no columns to choose \(columns word=1,tag=2"):
        load_dataset(str(tmp_path / "d"), columns="word=1,tag=2")
    with pytest.raises(DatasetError, match=r"travel: a dataset by name has no columns to choose"):
        load_dataset("travel", columns="word=1,tag=2")


# --------------------------------------------------------------------------- the command line


def run_cli(*arguments):
    return subprocess.run(
        [sys.executable, "-m", "data", *map(str, arguments)], cwd=REPO_ROOT, capture_output=True, text=True, timeout=120
    )


def test_describe_with_columns_reads_an_ambiguous_file_and_a_bad_value_exits_2_with_one_line(tmp_path):
    path = write(tmp_path / "amb.conll", "O\tB-x\nO\tO\n\nO\tO\n\n" * 10)
    refused = run_cli("describe", path)
    assert refused.returncode == 2 and refused.stdout == ""
    assert (
        refused.stderr == f"python -m data: error: {path} line 1: columns 1 and 2 could each be the tag column; "
        "choose with --columns word=N,tag=N[,intent=N] (columns counted from 1)\n"
    )
    read = run_cli("describe", path, "--columns", "word=1,tag=2", "--json")
    assert read.returncode == 0, read.stderr
    assert [json.loads(read.stdout)[name]["sentences"] for name in ("train", "dev", "test")] == [16, 2, 2]
    bad = run_cli("describe", path, "--columns", "word=1,tag=one")
    assert bad.returncode == 2 and bad.stdout == "" and "Traceback" not in bad.stderr
    lines = bad.stderr.splitlines()
    assert len(lines) == 1
    assert lines[0].startswith(
        "python -m data describe: error: argument --columns: columns 'word=1,tag=one': 'one' is not a column number"
    )


def test_tsv_file_with_multiatis_header_names_reads_without_columns(tmp_path):
    path = write(
        tmp_path / "train_EN.tsv",
        "id\tutterance\tslot_labels\tintent\n"
        "0\tto rome please\tO B-city O\tatis_flight\n"
        "1\tfares\tO\tatis_airfare\n2\tto oslo\tO B-city\tatis_flight\n",
    )
    parts = read_table_file(path, str(path))
    assert parts["all"].words == [["to", "rome", "please"], ["fares"], ["to", "oslo"]]
    assert parts["all"].tags == [["O", "B-city", "O"], ["O"], ["O", "B-city"]]
    assert parts["all"].intents == ["atis_flight", "atis_airfare", "atis_flight"]
