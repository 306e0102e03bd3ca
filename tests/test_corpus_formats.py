"""Corpora in the forms they are published in: tag-first .bio, CoNLL-U-like files with intents,
CoNLL-2003, BIOES and IOB1 tags, and the `columns` option that settles an ambiguous layout."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from data import ColumnSpec, DatasetError, load_dataset, parse_columns
from data.__main__ import main as data_main
from data.columns import read_column_file
from data.delimited import read_table_file

REPO_ROOT = Path(__file__).resolve().parent.parent


def write(path: Path, text: str) -> Path:
    path.write_bytes(text.encode("utf-8"))
    return path


def read_whole(path: Path, columns=None):
    """The file's sentences in order (no carving) and the columns they were read with."""
    return read_column_file(path, str(path), columns)


MOVIE_BIO = (
    "B-Actor\tsteve\nI-Actor\tmcqueen\nO\tin\nB-Title\tbullitt\n\n"
    "O\twho\nO\tdirected\nB-Title\tjaws\n\n"
    "O\tshow\nO\tme\nB-Genre\tcomedies\n"
)

WEATHER_CONLLU = (
    "# text = Is it going to rain today?\n"
    "# intent = weather/find\n"
    "1\tIs\tweather/find\tO\n"
    "2\tit\tweather/find\tO\n"
    "3\tgoing\tweather/find\tO\n"
    "4\tto\tweather/find\tO\n"
    "5\train\tweather/find\tB-weather/noun\n"
    "6\ttoday\tweather/find\tB-datetime\n"
    "7\t?\tweather/find\tO\n"
    "\n"
    "# text = set an alarm for 7 am\n"
    "# intent = alarm/set_alarm\n"
    "1\tset\talarm/set_alarm\tO\n"
    "2\tan\talarm/set_alarm\tO\n"
    "3\talarm\talarm/set_alarm\tO\n"
    "4\tfor\talarm/set_alarm\tO\n"
    "5\t7\talarm/set_alarm\tB-datetime\n"
    "6\tam\talarm/set_alarm\tI-datetime\n"
)


# --------------------------------------------------------------------------- formats found by content


def test_tag_first_bio_file_reads_words_from_the_second_column(tmp_path):
    split, columns = read_whole(write(tmp_path / "engtrain.bio", MOVIE_BIO))
    assert columns == ColumnSpec(word=2, tag=1)
    assert split.words == [
        ["steve", "mcqueen", "in", "bullitt"],
        ["who", "directed", "jaws"],
        ["show", "me", "comedies"],
    ]
    assert split.tags == [["B-Actor", "I-Actor", "O", "B-Title"], ["O", "O", "B-Title"], ["O", "O", "B-Genre"]]
    assert split.intents is None


def test_tag_first_bio_file_loads_as_a_dataset(tmp_path):
    path = write(tmp_path / "engtrain.bio", (MOVIE_BIO + "\n") * 4)
    dataset = load_dataset(str(path), dev_fraction=0.25)
    assert (len(dataset.train), len(dataset.dev), len(dataset.test)) == (6, 3, 3)
    everything = dataset.train.words + dataset.dev.words + dataset.test.words
    assert sorted(map(" ".join, everything)) == sorted(
        ["steve mcqueen in bullitt", "who directed jaws", "show me comedies"] * 4
    )
    assert dataset.notes == [f"{path}: columns word=2,tag=1 (found by content)"]


def test_conllu_like_file_skips_the_index_and_reads_the_repeated_column_as_the_intent(tmp_path):
    split, columns = read_whole(write(tmp_path / "en.conllu", WEATHER_CONLLU))
    assert columns == ColumnSpec(word=2, tag=4, intent=3)
    assert split.words == [["Is", "it", "going", "to", "rain", "today", "?"], ["set", "an", "alarm", "for", "7", "am"]]
    assert split.tags == [
        ["O", "O", "O", "O", "B-weather/noun", "B-datetime", "O"],
        ["O", "O", "O", "O", "B-datetime", "I-datetime"],
    ]
    assert split.intents == ["weather/find", "alarm/set_alarm"]


def test_intents_come_from_intent_comments_in_both_spellings_without_an_intent_column(tmp_path):
    text = (
        "# sent_id = 1\n# text = wake me up\n# intent = alarm/set_alarm\n1 wake O\n2 me O\n3 up O\n\n"
        "# text: play jazz\n# intent: music/play\n1 play O\n2 jazz B-genre\n"
    )
    split, columns = read_whole(write(tmp_path / "comments.conll", text))
    assert columns == ColumnSpec(word=2, tag=3)
    assert split.words == [["wake", "me", "up"], ["play", "jazz"]]
    assert split.tags == [["O", "O", "O"], ["O", "B-genre"]]
    assert split.intents == ["alarm/set_alarm", "music/play"]


def test_word_intent_tag_columns_without_an_index(tmp_path):
    text = (
        "flights atis_flight O\nto atis_flight O\nboston atis_flight B-toloc.city_name\n\n"
        "fares atis_airfare O\nto atis_airfare O\ndenver atis_airfare B-toloc.city_name\n"
    )
    split, columns = read_whole(write(tmp_path / "atis.txt", text))
    assert columns == ColumnSpec(word=1, tag=3, intent=2)
    assert split.intents == ["atis_flight", "atis_airfare"]
    assert split.words == [["flights", "to", "boston"], ["fares", "to", "denver"]]


def test_conll2003_with_docstart_pos_and_chunk_columns_takes_the_first_and_last(tmp_path):
    text = (
        "-DOCSTART- -X- -X- O\n\n"
        "EU NNP I-NP I-ORG\nrejects VBZ I-VP O\nGerman JJ I-NP I-MISC\ncall NN I-NP O\n\n"
        "Peter NNP I-NP I-PER\nBlackburn NNP I-NP I-PER\n\n"
        "-DOCSTART- -X- -X- O\n\n"
        "BRUSSELS NNP I-NP I-LOC\n1996-08-22 CD I-NP O\n"
    )
    split, columns = read_whole(write(tmp_path / "eng.train", text))
    assert columns == ColumnSpec(word=1, tag=4)
    assert split.words == [["EU", "rejects", "German", "call"], ["Peter", "Blackburn"], ["BRUSSELS", "1996-08-22"]]
    # IOB1: chunks start with I-, and the tags stay exactly as written.
    assert split.tags == [["I-ORG", "O", "I-MISC", "O"], ["I-PER", "I-PER"], ["I-LOC", "O"]]
    assert split.converted_tags == 0


def test_rows_of_different_widths_are_read_word_first_tag_last_as_before(tmp_path):
    text = "boston NNP B-fromloc.city_name\nto O\n\ndenver NNP B-NP B-toloc.city_name\n"
    split, columns = read_whole(write(tmp_path / "mixed.conll", text))
    assert columns is None
    assert split.words == [["boston", "to"], ["denver"]]
    assert split.tags == [["B-fromloc.city_name", "O"], ["B-toloc.city_name"]]


def test_index_column_is_skipped_in_a_file_without_intents(tmp_path):
    split, columns = read_whole(write(tmp_path / "i.conll", "1\tto\tO\n2\tboston\tB-city\n\n1\tdenver\tB-city\n"))
    assert columns == ColumnSpec(word=2, tag=3)
    assert split.words == [["to", "boston"], ["denver"]]


def test_hashtag_words_and_a_hash_row_inside_a_sentence_are_words_not_comments(tmp_path):
    text = "#Ferguson B-location\nprotest O\n# O\n\nsee O\n#nyc B-location\n"
    split, _ = read_whole(write(tmp_path / "tweets.conll", text))
    assert split.words == [["#Ferguson", "protest", "#"], ["see", "#nyc"]]


def test_column_file_with_bom_and_old_mac_line_endings(tmp_path):
    path = tmp_path / "mac.bio"
    path.write_bytes(b"\xef\xbb\xbf" + MOVIE_BIO.replace("\n", "\r").encode())
    assert read_whole(path) == read_whole(write(tmp_path / "plain.bio", MOVIE_BIO))


# --------------------------------------------------------------------------- BIOES and IOB1


def test_bioes_column_file_is_read_as_bio_and_counted(tmp_path):
    text = "fly O\nto O\nnew B-city\nyork E-city\non O\nmonday S-day\n\nto O\nsan B-city\njose E-city\n"
    split, _ = read_whole(write(tmp_path / "bioes.conll", text))
    assert split.tags[0] == ["O", "O", "B-city", "E-city", "O", "S-day"]  # as written, before load_dataset
    path = write(tmp_path / "many.conll", (text + "\n\n") * 5)
    dataset = load_dataset(str(path), dev_fraction=0.1)
    tags = {tag for split in dataset.splits().values() for sentence in split.tags for tag in sentence}
    assert tags == {"O", "B-city", "I-city", "B-day"}
    # 2 tags converted in each first sentence, 1 in each second: 15 in all, counted per split.
    assert [s.converted_tags for s in dataset.splits().values()] == [13, 1, 1]
    assert dataset.test.tags == dataset.dev.tags == [["O", "B-city", "I-city"]]
    assert dataset.train.tags[0] == ["O", "O", "B-city", "I-city", "O", "B-day"]


def test_bioes_in_a_folder_and_in_a_csv_file_is_read_as_bio(tmp_path):
    for split in ("train", "test"):
        (tmp_path / "d" / split).mkdir(parents=True)
        write(tmp_path / "d" / split / "seq.in", "to new york\nto boston\nto rome\n")
        write(tmp_path / "d" / split / "seq.out", "O B-city E-city\nO S-city\nO B-city\n")
    dataset = load_dataset(str(tmp_path / "d"), dev_fraction=0.3)
    assert dataset.test.tags == [["O", "B-city", "I-city"], ["O", "B-city"], ["O", "B-city"]]
    assert dataset.test.converted_tags == 2
    table = write(
        tmp_path / "t.csv",
        "words,tags,split\nto new york,O B-city E-city,train\nto rome,O S-city,test\nto oslo,O B-city,dev\n",
    )
    dataset = load_dataset(str(table))
    assert (dataset.train.tags, dataset.test.tags, dataset.dev.tags) == (
        [["O", "B-city", "I-city"]],
        [["O", "B-city"]],
        [["O", "B-city"]],
    )
    assert [s.converted_tags for s in dataset.splits().values()] == [1, 0, 1]


def test_iob1_and_plain_bio_files_are_left_as_written(tmp_path):
    text = "to O\nnew I-city\nyork I-city\n\nto O\nrome B-city\n\nfrom O\noslo I-city\n\nhi O\n\nok O\n\n"
    path = write(tmp_path / "iob1.iob", text * 2)
    dataset = load_dataset(str(path), dev_fraction=0.2)
    everything = dataset.train.tags + dataset.dev.tags + dataset.test.tags
    assert sorted(map(" ".join, everything)) == sorted(["O I-city I-city", "O B-city", "O I-city", "O", "O"] * 2)
    assert all(split.converted_tags == 0 for split in dataset.splits().values())


def test_describe_notes_the_bioes_conversion_in_the_table_and_the_json(tmp_path, capsys):
    path = write(tmp_path / "b.conll", "to O\nnew B-city\nyork E-city\n\nto O\nrome S-city\n\n" * 5)
    assert data_main(["describe", str(path)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert "train: 8 BIOES tags converted to BIO (S- to B-, E- to I-)" in out
    assert f"{path}: columns word=1,tag=2 (found by content)" in out
    assert data_main(["describe", str(path), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert [summary[name]["converted_tags"] for name in ("train", "dev", "test")] == [8, 1, 1]


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


# --------------------------------------------------------------------------- a folder of one file per split


def test_folder_of_tag_first_train_and_test_files_carves_dev_from_train(tmp_path):
    write(tmp_path / "engtrain.bio", (MOVIE_BIO + "\n") * 5)
    write(tmp_path / "engtest.bio", "O\twho\nO\tdirected\nB-Title\tjaws\n")
    dataset = load_dataset(str(tmp_path), dev_fraction=0.2)
    assert (len(dataset.train), len(dataset.dev), len(dataset.test)) == (12, 3, 1)
    assert dataset.test.words == [["who", "directed", "jaws"]]
    assert dataset.test.tags == [["O", "O", "B-Title"]]
    assert dataset.notes == [
        f"{tmp_path}/engtest.bio: columns word=2,tag=1 (found by content)",
        f"{tmp_path}/engtrain.bio: columns word=2,tag=1 (found by content)",
    ]


def test_folder_of_conll2003_files_reads_testa_as_dev_and_testb_as_test(tmp_path):
    for name, word in (("eng.train", "EU"), ("eng.testa", "Peter"), ("eng.testb", "BRUSSELS")):
        write(tmp_path / name, f"-DOCSTART- -X- -X- O\n\n{word} NNP I-NP I-ORG\ncalls VBZ I-VP O\n")
    write(tmp_path / "README.txt", "CoNLL-2003 English\n")
    dataset = load_dataset(str(tmp_path))
    assert [split.words for split in dataset.splits().values()] == [
        [["EU", "calls"]],
        [["Peter", "calls"]],
        [["BRUSSELS", "calls"]],
    ]
    assert dataset.test.tags == [["I-ORG", "O"]]


def test_folder_of_split_files_applies_columns_and_converts_bioes(tmp_path):
    for name in ("train.txt", "valid.txt", "test.txt"):
        write(tmp_path / name, "O\tO\nB-city\tE-city\n\nO\tS-day\n")
    dataset = load_dataset(str(tmp_path), columns="word=1,tag=2")
    assert dataset.dev.words == [["O", "B-city"], ["O"]]
    assert dataset.dev.tags == [["O", "I-city"], ["B-day"]]
    assert [split.converted_tags for split in dataset.splits().values()] == [2, 2, 2]


def test_folder_with_two_test_files_names_both(tmp_path):
    for name in ("en.train.conll", "en.test.conll", "de.test.conll"):
        write(tmp_path / name, "# intent: x\n1\thi\tx\tO\n")
    with pytest.raises(DatasetError) as error:
        load_dataset(str(tmp_path))
    assert str(error.value) == (
        f"{tmp_path}: de.test.conll and en.test.conll could each be the test split; "
        "keep one of them in the folder, or give one file as the source"
    )


def test_write_with_columns_turns_a_tag_first_file_into_a_dataset_folder(tmp_path, capsys):
    path = write(tmp_path / "amb.bio", "B-x\tO\nO\tO\n\nO\tO\n\n" * 5)
    assert data_main(["write", str(path), str(tmp_path / "out"), "--columns", "word=2,tag=1"]) == 0
    assert capsys.readouterr().out == f"wrote {tmp_path / 'out'} (8 train, 1 dev, 1 test)\n"
    written = (tmp_path / "out" / "train" / "seq.out").read_text().splitlines()
    assert written == ["B-x O", "O", "B-x O", "B-x O", "O", "B-x O", "B-x O", "O"]
    assert (tmp_path / "out" / "test" / "seq.in").read_text() == "O\n"
