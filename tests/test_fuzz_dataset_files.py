"""Generated files for the dataset readers: column files, dataset folders, folders of split files,
CSV and TSV.

Every generated case either reads, or raises `DatasetError` whose message is
one line, begins with the file (or split folder) at fault and, where it names a
line, names one that exists. Valid files written with random separators, line
endings, byte order marks and odd Unicode read back exactly as generated.

The runs are derandomized: CI tries the same cases every time.
"""

import re
import shutil
from pathlib import Path

import pytest
from hypothesis import assume, event, given, settings
from hypothesis import strategies as st

from data import ColumnSpec, DatasetError, load_dataset, parse_columns
from data.columns import read_column_file
from data.delimited import read_table_file
from data.readers import to_bio
from support import FUZZ_SETTINGS as SETTINGS

# Words: letters of several scripts, digits, punctuation, combining marks,
# right-to-left text and marks, zero-width characters, NUL, DEL and an emoji;
# never white space. (A byte order mark is only stripped at the start of a
# file, and a leading `#` may start a comment: generated words begin with neither.)
ALPHABET = (
    "abcxyzOBIES019-_.,'?!()/\"#"
    "ñüßçé\u0130\u03a3\u0436\u05d0\u05d1\u0627\u0644\u65e5\u672c\u00a9"
    "\u0301\u0308\u200b\u200c\u200d\u200e\u200f\u202e\u2066\x00\x7f\U0001f600\U0001d11e"
)
WORD = st.text(ALPHABET, min_size=1, max_size=6).filter(lambda word: not word.startswith("#"))
SLOT = st.sampled_from(["city", "toloc.city_name", "B-52", "日付", "x"])
TAG = st.one_of(
    st.just("O"), st.builds(lambda prefix, slot: prefix + slot, st.sampled_from(["B-", "I-", "E-", "S-"]), SLOT)
)
INTENT = st.sampled_from(["weather/find", "alarm/set_alarm", "atis_flight", "ñandú"])
SEPARATOR = st.sampled_from([" ", "\t", "  ", " \t", "\t\t"])
NEWLINE = st.sampled_from(["\n", "\r\n", "\r"])


@st.composite
def sentences(draw, max_sentences=5, max_words=6):
    """A list of (words, tags, intent); a word may look like a tag or a number (see `clean_words`)."""
    count = draw(st.integers(1, max_sentences))
    result = []
    for _ in range(count):
        length = draw(st.integers(1, max_words))
        words = draw(st.lists(WORD, min_size=length, max_size=length))
        tags = draw(st.lists(TAG, min_size=length, max_size=length))
        result.append((words, tags, draw(INTENT)))
    return result


def clean_words(sentence_list):
    """Words that no reader could take for something else (a tag, an index)."""
    for words, _, _ in sentence_list:
        for word in words:
            if word[:2] in ("B-", "I-", "E-", "S-") or word == "O" or word.isdigit():
                return False
    return True


LAYOUTS = {  # name: (columns of a row, the columns that read it)
    "word tag": (lambda i, w, n, t: [w, t], ColumnSpec(word=1, tag=2)),
    "tag word": (lambda i, w, n, t: [t, w], ColumnSpec(word=2, tag=1)),
    "index word intent tag": (lambda i, w, n, t: [str(i), w, n, t], ColumnSpec(word=2, tag=4, intent=3)),
    "word intent tag": (lambda i, w, n, t: [w, n, t], ColumnSpec(word=1, tag=3, intent=2)),
    "index word tag": (lambda i, w, n, t: [str(i), w, t], ColumnSpec(word=2, tag=3)),
}


@st.composite
def column_files(draw):
    """(bytes of a valid column file, its sentences, its layout name, whether intents are written)."""
    sentence_list = draw(sentences())
    layout = draw(st.sampled_from(sorted(LAYOUTS)))
    row, _ = LAYOUTS[layout]
    comment_intents, comment_texts = draw(st.booleans()), draw(st.booleans())
    intent_comment = draw(st.sampled_from(["# intent = ", "# intent: ", "#intent="]))
    newline = draw(NEWLINE)
    # Separators and line ends taken in turn from a few drawn ones: tabs and spaces mixed in one file.
    separators = draw(st.lists(SEPARATOR, min_size=1, max_size=3))
    ends = draw(st.lists(st.sampled_from(["", " ", "\t"]), min_size=1, max_size=2))
    blanks = draw(st.lists(st.sampled_from(["", " "]), min_size=1, max_size=2))
    lines = []
    for number, (words, tags, intent) in enumerate(sentence_list):
        if comment_texts:
            lines.append("# text = " + " ".join(words))
        if comment_intents:
            lines.append(intent_comment + intent)
        for index, (word, tag) in enumerate(zip(words, tags), start=1):
            fields = row(index, word, intent, tag)
            line = fields[0]
            for position, field in enumerate(fields[1:]):
                line += separators[(index + position) % len(separators)] + field
            lines.append(line + ends[index % len(ends)])
        lines.extend(blanks[: 1 + number % len(blanks)])
    text = newline.join(lines[: len(lines) - draw(st.integers(0, 1))])
    prefix = b"\xef\xbb\xbf" if draw(st.booleans()) else b""
    return prefix + text.encode("utf-8"), sentence_list, layout, comment_intents


def mutated(data: bytes, draw) -> bytes:
    """`data` truncated, with a random span replaced by random bytes or text, or a line repeated hugely."""
    kind = draw(st.sampled_from(["truncate", "bytes", "text", "huge", "separators"]))
    position = draw(st.integers(0, len(data)))
    if kind == "truncate":
        return data[:position]
    if kind == "bytes":
        end = draw(st.integers(position, min(len(data), position + 8)))
        return data[:position] + draw(st.binary(max_size=8)) + data[end:]
    if kind == "text":
        # Lone surrogates, written as UTF-8 would if it allowed them (b"\xed\xa0\x80"), are not UTF-8.
        piece = draw(st.text(st.characters() | st.sampled_from("\ud800\udc80\udfff"), max_size=8))
        return data[:position] + piece.encode("utf-8", "surrogatepass") + data[position:]
    if kind == "huge":
        return (
            data[:position] + draw(st.sampled_from([b"x", b"B-x ", b"\t", b"\xe2\x80\x8b"])) * 100_000 + data[position:]
        )
    return data.replace(b"\t", b" ") if draw(st.booleans()) else data.replace(b" ", b"\t")


# --------------------------------------------------------------------------- the message of an error


def assert_one_line_naming(error: DatasetError, display: str, data: bytes | None = None):
    message = str(error)
    assert len(message.splitlines()) == 1, message
    assert message.startswith(display), message
    assert len(message) < len(display) + 400, message[:1000]  # values quoted in it are cut short
    number = re.match(r"[^:]* line (\d+): ", message[len(display) :])
    if number and data is not None:
        lines = len(data.replace(b"\r\n", b"\n").replace(b"\r", b"\n").split(b"\n"))
        assert 1 <= int(number.group(1)) <= lines + 1, message


@pytest.fixture(scope="module")
def place(tmp_path_factory):
    return tmp_path_factory.mktemp("fuzz")


def load_or_refuse(source: Path, display: str, data: bytes | None = None, **options):
    try:
        dataset = load_dataset(str(source), **options)
    except DatasetError as error:
        assert_one_line_naming(error, display, data)
        event("refused: " + re.sub(r"^[^:]*: ", "", str(error)[len(display) :][:200])[:24])
        return None
    event("read")
    return dataset


# --------------------------------------------------------------------------- column files


@settings(max_examples=70, **SETTINGS)
@given(generated=column_files())
def test_valid_column_files_read_back_exactly_with_their_columns_given(place, generated):
    data, sentence_list, layout, comment_intents = generated
    path = place / "given.conll"
    path.write_bytes(data)
    split, used = read_column_file(path, str(path), LAYOUTS[layout][1])
    assert split.words == [words for words, _, _ in sentence_list]
    assert split.tags == [tags for _, tags, _ in sentence_list]
    has_intents = comment_intents or "intent" in layout
    assert split.intents == ([intent for _, _, intent in sentence_list] if has_intents else None)


@settings(max_examples=70, **SETTINGS)
@given(generated=column_files())
def test_valid_column_files_read_back_exactly_or_ask_for_columns(place, generated):
    data, sentence_list, layout, comment_intents = generated
    assume(clean_words(sentence_list))
    path = place / "found.bio"
    path.write_bytes(data)
    try:
        split, used = read_column_file(path, str(path))
    except DatasetError as error:
        # Short files can leave two columns equally likely (one word a sentence, a word repeated).
        assert "choose with --columns" in str(error)
        assert_one_line_naming(error, str(path), data)
        event("ambiguous")
        return
    event("read")
    assert split.words == [words for words, _, _ in sentence_list]
    assert split.tags == [tags for _, tags, _ in sentence_list]
    if split.intents is not None:
        assert split.intents == [intent for _, _, intent in sentence_list]
    else:
        assert not comment_intents


@settings(max_examples=100, **SETTINGS)
@given(generated=column_files(), data=st.data())
def test_damaged_column_files_read_or_raise_one_line_naming_file_and_line(place, generated, data):
    damaged = mutated(generated[0], data.draw)
    path = place / "damaged.conll"
    path.write_bytes(damaged)
    dataset = load_or_refuse(path, str(path), damaged, dev_fraction=0.2)
    if dataset is not None:
        for split in dataset.splits().values():
            assert all(tag[:2] not in ("E-", "S-") for tags in split.tags for tag in tags)


@settings(max_examples=100, **SETTINGS)
@given(
    data=st.binary(max_size=300) | st.text(ALPHABET + ' \t\n\r\u2028\x85,"BIO-', max_size=300).map(str.encode),
    suffix=st.sampled_from([".conll", ".bio", ".csv", ".tsv"]),
)
def test_random_bytes_or_text_as_a_file_read_or_raise_one_line(place, data, suffix):
    path = place / f"random{suffix}"
    path.write_bytes(data)
    load_or_refuse(path, str(path), data)


@settings(max_examples=100, **SETTINGS)
@given(text=st.text(max_size=40))
def test_any_columns_text_parses_or_raises_one_line(text):
    try:
        spec = parse_columns(text)
    except DatasetError as error:
        assert_one_line_naming(error, "columns ")
        return
    assert parse_columns(str(spec)) == spec


# --------------------------------------------------------------------------- folder layout


def write_folder(root: Path, files: dict[str, bytes]):
    shutil.rmtree(root, ignore_errors=True)
    for relative, content in files.items():
        (root / relative).parent.mkdir(parents=True, exist_ok=True)
        (root / relative).write_bytes(content)


@st.composite
def folder_files(draw):
    """The files of a valid folder dataset, and the splits as generated."""
    newline = draw(NEWLINE)
    files, expected = {}, {}
    for split in ("train", "dev", "test"):
        sentence_list = draw(sentences(max_sentences=3))
        expected[split] = sentence_list

        def join(rows):
            return (
                draw(st.sampled_from([b"", b"\xef\xbb\xbf"]))
                + newline.join(rows).encode()
                + (newline.encode() if draw(st.booleans()) else b"")
            )

        files[f"{split}/seq.in"] = join([draw(SEPARATOR).join(words) for words, _, _ in sentence_list])
        files[f"{split}/seq.out"] = join([" ".join(tags) for _, tags, _ in sentence_list])
        files[f"{split}/label"] = join([intent for _, _, intent in sentence_list])
    return files, expected


@settings(max_examples=30, **SETTINGS)
@given(generated=folder_files())
def test_valid_folders_read_back_exactly_with_bioes_as_bio(place, generated):
    files, expected = generated
    write_folder(place / "valid", files)
    dataset = load_dataset(str(place / "valid"))
    for name, split in dataset.splits().items():
        assert split.words == [words for words, _, _ in expected[name]]
        assert (
            split.tags == to_bio(type(split)([w for w, _, _ in expected[name]], [t for _, t, _ in expected[name]])).tags
        )
        assert split.intents == [intent for _, _, intent in expected[name]]


@settings(max_examples=60, **SETTINGS)
@given(
    generated=folder_files(),
    target=st.sampled_from(["train/seq.in", "dev/seq.out", "test/label"]),
    random=st.none() | st.binary(max_size=200),
    data=st.data(),
)
def test_damaged_folders_read_or_raise_one_line_naming_the_file(place, generated, target, random, data):
    files, _ = generated
    files[target] = random if random is not None else mutated(files[target], data.draw)
    write_folder(place / "damaged", files)
    load_or_refuse(place / "damaged", str(place / "damaged"))


@settings(max_examples=40, **SETTINGS)
@given(
    train=column_files(),
    test=column_files(),
    names=st.sampled_from([("train.txt", "test.txt"), ("eng.train", "eng.testb"), ("engtrain.bio", "engtest.bio")]),
    damage=st.booleans(),
    data=st.data(),
)
def test_folders_of_split_files_read_or_raise_one_line_naming_the_file(place, train, test, names, damage, data):
    test_bytes = mutated(test[0], data.draw) if damage else test[0]
    write_folder(place / "split files", {names[0]: train[0], names[1]: test_bytes})
    dataset = load_or_refuse(place / "split files", str(place / "split files"))
    if dataset is not None and not damage and train[2] == test[2] and clean_words(train[1] + test[1]):
        assert dataset.test.words == [words for words, _, _ in test[1]]


# --------------------------------------------------------------------------- CSV and TSV


@st.composite
def table_files(draw):
    suffix = draw(st.sampled_from([".csv", ".tsv"]))
    delimiter = "," if suffix == ".csv" else "\t"
    rows = [delimiter.join(["words", "tags", "intent", "split"])]
    for split in ("train", "dev", "test"):
        for words, tags, intent in draw(sentences(max_sentences=2)):
            text = " ".join(words)
            if suffix == ".csv":
                text = '"' + text.replace('"', '""') + '"'
            rows.append(delimiter.join([text, " ".join(tags), intent, split]))
    return suffix, draw(NEWLINE).join(rows).encode("utf-8")


@settings(max_examples=70, **SETTINGS)
@given(generated=table_files(), data=st.data())
def test_damaged_csv_and_tsv_files_read_or_raise_one_line_naming_file_and_line(place, generated, data):
    suffix, content = generated
    damaged = mutated(content, data.draw) if data.draw(st.booleans()) else content
    path = place / f"table{suffix}"
    path.write_bytes(damaged)
    load_or_refuse(path, str(path), damaged)
    try:
        read_table_file(path, str(path), ColumnSpec(word=1, tag=2, intent=3))
    except DatasetError as error:
        assert_one_line_naming(error, str(path), damaged)
