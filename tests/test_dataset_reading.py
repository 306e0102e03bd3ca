"""Reading and writing datasets (`data`): dataset folders and single files, the one-line errors of
validation, carved dev splits, the cue distances of `context`, and `write_dataset`."""

from pathlib import Path

import pytest

from data import Dataset, DatasetError, Split, load_dataset, write_dataset
from support import FOLDER_SENTENCES as SENTENCES
from support import FOLDER_TAGS as TAGS
from support import make_folder, write_split

# --------------------------------------------------------------------------- folder layout


def test_folder_reads_words_tags_and_intents(tmp_path):
    dataset = load_dataset(str(make_folder(tmp_path / "tiny")))
    assert dataset.name == "tiny"
    assert [len(split) for split in dataset.splits().values()] == [5, 2, 3]
    assert dataset.train.words[3] == ["ground", "transportation", "in", "dallas"]
    assert dataset.train.tags[2] == ["O", "O", "B-toloc.city_name", "I-toloc.city_name"]
    assert dataset.train.intents == ["atis_flight"] * 3 + ["atis_ground_service", "atis_airfare"]
    assert dataset.test.words[0] == ["arrive", "in", "san", "francisco"]


def test_folder_accepts_windows_endings_trailing_spaces_bom_and_no_final_newline(tmp_path):
    root = make_folder(tmp_path / "plain")
    messy = tmp_path / "messy"
    make_folder(messy)
    (messy / "train" / "seq.in").write_bytes(
        # A byte order mark, CRLF line endings, trailing spaces and no final newline.
        b"\xef\xbb\xbf" + "\r\n".join(s + "  " for s in SENTENCES).encode()
    )
    (messy / "train" / "seq.out").write_bytes(("\r\n".join(TAGS[s] + " \t" for s in SENTENCES) + "\r\n\r\n").encode())
    assert load_dataset(str(messy)).train == load_dataset(str(root)).train


def test_folder_with_valid_instead_of_dev(tmp_path):
    dataset = load_dataset(str(make_folder(tmp_path / "d", dev_name="valid")))
    assert dataset.dev.words == [s.split() for s in SENTENCES[:2]]


def test_folder_without_label_has_no_intents(tmp_path):
    root = make_folder(tmp_path / "d")
    for split in ("train", "dev", "test"):
        (root / split / "label").unlink()
    assert load_dataset(str(root)).train.intents is None


def test_inside_tag_without_begin_tag_is_accepted(tmp_path):
    root = make_folder(tmp_path / "d")
    write_split(root / "test", ["to new york"], ["O I-toloc.city_name I-toloc.city_name"], ["atis_flight"])
    assert load_dataset(str(root)).test.tags == [["O", "I-toloc.city_name", "I-toloc.city_name"]]


def test_folder_without_dev_carves_a_seeded_dev_split_from_train(tmp_path):
    root = tmp_path / "nodev"
    sentences = [f"flights to city{number}" for number in range(40)]
    write_split(root / "train", sentences, ["O O B-toloc.city_name"] * 40)
    write_split(root / "test", sentences[:3], ["O O B-toloc.city_name"] * 3)
    first = load_dataset(str(root), seed=3, dev_fraction=0.25)
    again = load_dataset(str(root), seed=3, dev_fraction=0.25)
    other = load_dataset(str(root), seed=4, dev_fraction=0.25)
    assert (len(first.train), len(first.dev), len(first.test)) == (30, 10, 3)
    assert first.dev == again.dev and first.train == again.train
    assert other.dev != first.dev
    # Disjoint, complete, and each part keeps the file's order.
    dev_numbers = [int(words[2][4:]) for words in first.dev.words]
    train_numbers = [int(words[2][4:]) for words in first.train.words]
    assert sorted(dev_numbers + train_numbers) == list(range(40))
    assert dev_numbers == sorted(dev_numbers) and train_numbers == sorted(train_numbers)


# --------------------------------------------------------------------------- single files


def test_conll_file_reads_sentences_and_carves_dev_and_test(tmp_path):
    lines = ["-DOCSTART- O", ""]
    for number in range(20):
        lines += ["to\tO", f"city{number}\tB-toloc.city_name", ""]
    path = tmp_path / "corpus.conll"
    path.write_text("\n".join(lines))
    dataset = load_dataset(str(path), seed=0, dev_fraction=0.1)
    assert dataset.name == "corpus"
    assert (len(dataset.train), len(dataset.dev), len(dataset.test)) == (16, 2, 2)
    everything = dataset.train.words + dataset.dev.words + dataset.test.words
    assert sorted(words[1] for words in everything) == sorted(f"city{n}" for n in range(20))
    assert all(tags == ["O", "B-toloc.city_name"] for tags in dataset.train.tags)
    assert load_dataset(str(path), seed=0).test == dataset.test


def test_conll_file_takes_the_last_column_as_the_tag(tmp_path):
    path = tmp_path / "four.txt"
    path.write_text("boston NNP B-NP B-fromloc.city_name\nto TO B-PP O\n\n" * 3)
    dataset = load_dataset(str(path))
    assert dataset.test.words == [["boston", "to"]]
    assert dataset.test.tags == [["B-fromloc.city_name", "O"]]


def test_csv_file_reads_words_tags_and_intents_without_turning_na_into_missing(tmp_path):
    path = tmp_path / "table.csv"
    rows = ["Words,Tags,Intent"] + [f'"{s}","{TAGS[s]}",atis_flight' for s in SENTENCES] + ["NA null,O O,atis_flight"]
    path.write_text("\n".join(rows) + "\n")
    dataset = load_dataset(str(path), dev_fraction=0.2)
    assert (len(dataset.train), len(dataset.dev), len(dataset.test)) == (4, 1, 1)
    everything = dataset.train.words + dataset.dev.words + dataset.test.words
    assert ["NA", "null"] in everything
    assert sorted(map(" ".join, everything)) == sorted(SENTENCES + ["NA null"])
    assert dataset.train.intents == ["atis_flight"] * 4


def test_tsv_file_with_a_split_column_keeps_its_splits(tmp_path):
    path = tmp_path / "table.tsv"
    rows = ["split\twords\ttags"]
    rows += [f"train\t{s}\t{TAGS[s]}" for s in SENTENCES]
    rows += [f"valid\t{SENTENCES[0]}\t{TAGS[SENTENCES[0]]}", 'test\t"quoted" word\tO O']
    path.write_text("\n".join(rows))
    dataset = load_dataset(str(path))
    assert dataset.train.words == [s.split() for s in SENTENCES]
    assert dataset.dev.words == [SENTENCES[0].split()]
    assert dataset.test.words == [['"quoted"', "word"]]
    assert dataset.test.intents is None


# --------------------------------------------------------------------------- validation errors


def corrupt(root: Path, relative: str, content: bytes):
    (root / relative).write_bytes(content)


# case: (file to overwrite, its new content, expected part of the one-line message)
ERROR_CASES = {
    "count_mismatch": (
        "train/seq.out",
        b"O O B-fromloc.city_name O\n" + b"O\n" * 4,
        "train/seq.out line 1: 4 tags for 5 words",
    ),
    "line_count_mismatch": (
        "train/seq.out",
        "\n".join(TAGS[s] for s in SENTENCES[:4]).encode(),
        "train/seq.out line 5: missing",
    ),
    "label_count_mismatch": ("test/label", b"atis_flight\n" * 4, "test/label line 4: one line too many"),
    "label_line_missing": ("test/label", b"atis_flight\n" * 2, "test/label line 3: missing"),
    "bad_tag_prefix": (
        "dev/seq.out",
        b"O O B-fromloc.city_name O X-toloc.city_name\nO O O O\n",
        "dev/seq.out line 1: tag 'X-toloc.city_name' (word 5)",
    ),
    "lowercase_o": (
        "dev/seq.out",
        b"O O B-fromloc.city_name O B-toloc.city_name\no O O O\n",
        "dev/seq.out line 2: tag 'o'",
    ),
    "bare_prefix": ("dev/seq.out", b"O O B-fromloc.city_name O B-\nO O O O\n", "dev/seq.out line 1: tag 'B-'"),
    "not_utf8": (
        "test/seq.in",
        b"arrive in san francisco\nground transportation in dallas\ncheapest fare to s\xe9oul\n",
        "test/seq.in line 3: bytes that are not UTF-8 (0xe9 at column 19)",
    ),
    "empty_line_inside": (
        "train/seq.in",
        ("\n".join(SENTENCES[:2]) + "\n\n" + "\n".join(SENTENCES[3:])).encode(),
        "train/seq.in line 3: empty line",
    ),
    "empty_file": ("test/seq.out", b"\n", "test/seq.out line 1: empty file"),
    "context_count_mismatch": ("dev/context", b"- - - - 1\n- 1 -\n", "dev/context line 2: 3 entries for 4 words"),
    "context_line_missing": ("dev/context", b"- - - - 1\n", "dev/context line 2: missing"),
    "context_bad_entry": (
        "dev/context",
        b"- - - - 1\n- 0 - 2\n",
        "dev/context line 2: entry '0' (word 2) is not - or a cue distance",
    ),
    "context_not_a_number": ("test/context", b"- - 1 2\n- - - -\n- - - x\n", "test/context line 3: entry 'x' (word 4)"),
}


@pytest.mark.parametrize("case", sorted(ERROR_CASES))
def test_folder_validation_errors_name_file_and_line(tmp_path, case):
    relative, content, expected = ERROR_CASES[case]
    root = make_folder(tmp_path / "bad")
    corrupt(root, relative, content)
    with pytest.raises(DatasetError) as error:
        load_dataset(str(root))
    message = str(error.value)
    assert expected in message
    assert message.startswith(str(root))
    assert "\n" not in message


def test_missing_split_is_an_error(tmp_path):
    root = make_folder(tmp_path / "d")
    for name in ("seq.in", "seq.out", "label"):
        (root / "test" / name).unlink()
    (root / "test").rmdir()
    with pytest.raises(DatasetError, match=r"d/test: missing split"):
        load_dataset(str(root))


def test_missing_file_is_an_error(tmp_path):
    root = make_folder(tmp_path / "d")
    (root / "dev" / "seq.out").unlink()
    with pytest.raises(DatasetError, match=r"d/dev/seq.out: no such file"):
        load_dataset(str(root))


def test_csv_missing_tags_column_is_an_error(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("words,label\nto boston,atis_flight\n")
    with pytest.raises(DatasetError, match=r"t.csv line 1: no 'tags' column \(the header has: words, label\)"):
        load_dataset(str(path))


def test_csv_row_errors_name_the_line(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text('words,tags\n"to boston",O B-toloc.city_name\n\n"to denver","O"\n')
    with pytest.raises(DatasetError, match=r"t.csv line 4: 1 tags for 2 words"):
        load_dataset(str(path))


def test_conll_line_with_one_column_is_an_error(tmp_path):
    path = tmp_path / "c.conll"
    path.write_text("to O\nboston B-toloc.city_name\n\nfrom O\ndenver\n")
    with pytest.raises(DatasetError, match=r"c.conll line 5: 1 column"):
        load_dataset(str(path))


def test_unknown_source_and_unknown_file_type_are_errors(tmp_path):
    with pytest.raises(DatasetError, match="no such dataset"):
        load_dataset(str(tmp_path / "nothing-here"))
    (tmp_path / "x.json").write_text("{}")
    with pytest.raises(DatasetError, match="unknown file type '.json'"):
        load_dataset(str(tmp_path / "x.json"))
    with pytest.raises(DatasetError, match="dev_fraction"):
        load_dataset("travel", dev_fraction=0.7)


def test_context_file_is_read_beside_seq_in_and_written_back(tmp_path):
    root = make_folder(tmp_path / "d")
    (root / "train" / "context").write_text("- - - - 1\n- 1 - 3\n- - 1 2\n- - - -\n- - - 1\n")
    dataset = load_dataset(str(root))
    assert dataset.train.context[1] == [-1, 1, -1, 3]
    assert dataset.train.context[3] == [-1, -1, -1, -1]
    assert dataset.dev.context is None  # the file is optional, split by split
    write_dataset(dataset, tmp_path / "copy")
    assert (tmp_path / "copy" / "train" / "context").read_text() == (root / "train" / "context").read_text()
    assert not (tmp_path / "copy" / "dev" / "context").exists()
    assert load_dataset(str(tmp_path / "copy")).splits() == dataset.splits()


def test_split_carries_context_through_head_select_and_carving(tmp_path):
    split = Split(words=[["a"], ["b", "c"], ["d"]], tags=[["O"], ["O", "O"], ["O"]], context=[[-1], [2, -1], [1]])
    assert split.head(2).context == [[-1], [2, -1]]
    assert split.select([2, 0]).context == [[1], [-1]]
    root = tmp_path / "nodev"
    write_split(root / "train", [f"to city{n}" for n in range(20)], ["O B-toloc.city_name"] * 20)
    (root / "train" / "context").write_text("".join(f"- {1 + n % 3}\n" for n in range(20)))
    write_split(root / "test", ["to x"], ["O B-toloc.city_name"])
    dataset = load_dataset(str(root), dev_fraction=0.25)
    for part in (dataset.train, dataset.dev):
        assert part.context == [[-1, 1 + int(words[1][4:]) % 3] for words in part.words]
    with pytest.raises(DatasetError, match="sentence 2: 1 context entries for 2 words"):
        Split(words=[["a"], ["b", "c"]], tags=[["O"], ["O", "O"]], context=[[-1], [1]])
    with pytest.raises(DatasetError, match="2 sentences but 1 context sequences"):
        Split(words=[["a"], ["b"]], tags=[["O"], ["O"]], context=[[-1]])


def test_split_checks_lengths_and_head_keeps_the_first_sentences():
    split = Split(words=[["a"], ["b", "c"], ["d"]], tags=[["O"], ["O", "O"], ["O"]], intents=["x", "y", "z"])
    assert split.head(2) == Split(words=[["a"], ["b", "c"]], tags=[["O"], ["O", "O"]], intents=["x", "y"])
    assert len(split.head(10)) == 3
    with pytest.raises(DatasetError, match="sentence 2: 1 tags for 2 words"):
        Split(words=[["a"], ["b", "c"]], tags=[["O"], ["O"]])


# --------------------------------------------------------------------------- writing


def test_write_dataset_round_trips_and_leaves_no_temporary_folder(tmp_path):
    original = load_dataset(str(make_folder(tmp_path / "source")))
    write_dataset(original, tmp_path / "out" / "copy")
    assert load_dataset(str(tmp_path / "out" / "copy")).splits() == original.splits()
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["copy"]
    assert (tmp_path / "out" / "copy" / "train" / "seq.in").read_text().splitlines() == SENTENCES


def test_write_dataset_refuses_an_existing_folder_and_bad_words(tmp_path):
    original = load_dataset(str(make_folder(tmp_path / "source")))
    with pytest.raises(DatasetError, match="already exists"):
        write_dataset(original, tmp_path / "source")
    write_dataset(original, tmp_path / "source", overwrite=True)
    bad = Dataset("bad", Split([["new york"]], [["B-city_name"]]), original.dev, original.test)
    with pytest.raises(DatasetError, match="train sentence 1: 'new york'"):
        write_dataset(bad, tmp_path / "bad")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["source"]
