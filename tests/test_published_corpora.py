"""Corpora in the forms they are published in: tag-first .bio, CoNLL-U-like files with intents,
CoNLL-2003, BIOES and IOB1 tags, and folders of one file per split."""

import json

import pytest

from data import ColumnSpec, DatasetError, load_dataset
from data.__main__ import main as data_main
from support import WEATHER_CONLLU, read_whole, write

MOVIE_BIO = (
    "B-Actor\tsteve\nI-Actor\tmcqueen\nO\tin\nB-Title\tbullitt\n\n"
    "O\twho\nO\tdirected\nB-Title\tjaws\n\n"
    "O\tshow\nO\tme\nB-Genre\tcomedies\n"
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
