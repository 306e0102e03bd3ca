"""`recipes.predict` and `Tagger`: damaged run folders are refused with one line, any text is tagged."""

import io
import json
import os
import shutil
import sys
import zipfile

import keras
import pytest

import data
from data.batching import bucket_length, encode_split, make_batches
from recipes import predict
from recipes.inference import words
from support import (  # noqa: F401  (compilation_cache: an autouse fixture of this module)
    compilation_cache,
    exit_status,
    one_line_error,
)

# ---------------------------------------------------------------------------
# Damaged run folders: predict
# ---------------------------------------------------------------------------


def zip_with(members):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    return buffer.getvalue()


def edit_encoder(change):
    def apply(folder, tmp_path):
        config = json.loads((folder / "encoder.json").read_text())
        change(config)
        (folder / "encoder.json").write_text(json.dumps(config))

    return apply


def put(name, content):
    def apply(folder, tmp_path):
        path = folder / name
        if content is None:
            path.unlink()
        else:
            path.write_bytes(content(tmp_path) if callable(content) else content)

    return apply


DAMAGED_RUNS = {
    "model_missing": (put("model.keras", None), ["model.keras: missing"]),
    "model_garbage": (put("model.keras", os.urandom(300)), ["model.keras: not a .keras file"]),
    "model_truncated": (
        lambda f, t: (f / "model.keras").write_bytes((f / "model.keras").read_bytes()[:2000]),
        ["model.keras: not a .keras file"],
    ),
    "model_wrong_zip": (
        put("model.keras", zip_with({"config.json": "{not json", "metadata.json": "{}"})),
        ["model.keras: cannot be loaded"],
    ),
    "encoder_missing": (put("encoder.json", None), ["encoder.json: missing"]),
    "encoder_garbage": (put("encoder.json", b"\x89\xff\x00garbage"), ["encoder.json: bytes that are not UTF-8"]),
    "encoder_bad_json": (
        put("encoder.json", b'{"format": "slot-rnn-encoder",\n "words": [}'),
        ["encoder.json line 2: not valid JSON"],
    ),
    "encoder_a_list": (put("encoder.json", b"[1, 2, 3]"), ["encoder.json: encoder config must be a JSON object"]),
    "encoder_other_format": (
        edit_encoder(lambda c: c.update(format="vocab")),
        ["encoder.json: not a slot-rnn-encoder"],
    ),
    "encoder_words_not_a_list": (
        edit_encoder(lambda c: c.update(words="boston")),
        ["encoder.json: encoder config: 'words' must be a list"],
    ),
    "encoder_max_trigrams_huge": (
        edit_encoder(lambda c: c.update(max_trigrams=10**9)),
        ["encoder.json: encoder config: 'max_trigrams' must be an integer from 1 to"],
    ),
    "vocabulary_grown": (
        edit_encoder(lambda c: c["words"].extend(f"word{i}" for i in range(50))),
        ["encoder.json: 238 words but the model was built for 188"],
    ),
    "vocabulary_word_twice": (
        edit_encoder(lambda c: c["words"].append(c["words"][5])),
        ["encoder.json: encoder config: 'words' holds an entry twice"],
    ),
    "trigrams_cut": (
        edit_encoder(lambda c: c.update(trigrams=c["trigrams"][:100])),
        ["encoder.json: 100 trigrams but the model was built for 658"],
    ),
    "tags_dropped": (
        edit_encoder(lambda c: c.update(tags=c["tags"][:5])),
        ["encoder.json: 5 tags but the model was built for 34"],
    ),
    "max_trigrams_changed": (
        edit_encoder(lambda c: c.update(max_trigrams=4)),
        ["encoder.json: 4 max_trigrams but the model was built for 16"],
    ),
}


@pytest.mark.parametrize("name", sorted(DAMAGED_RUNS))
def test_predict_refuses_a_damaged_run_folder_with_one_line(name, untrained_run, tmp_path, capsys):
    folder = tmp_path / "run"
    shutil.copytree(untrained_run, folder)
    damage, fragments = DAMAGED_RUNS[name]
    damage(folder, tmp_path)
    assert exit_status(predict.main, ["--model-dir", str(folder), "leave boston on monday"]) == 2
    one_line_error(capsys, *fragments, prefix="python -m recipes.predict: error: ")
    assert capsys.readouterr().out == ""


def test_predict_refuses_a_missing_folder_or_a_file_as_model_dir(a_file, tmp_path, capsys):
    for folder in (tmp_path / "nowhere", a_file):
        assert exit_status(predict.main, ["--model-dir", str(folder), "leave boston"]) == 2
        one_line_error(capsys, f"--model-dir {folder}: no such folder")


def test_predict_never_runs_code_sent_in_a_model_file(untrained_run, tmp_path, capsys):
    folder = tmp_path / "run"
    shutil.copytree(untrained_run, folder)
    marker = tmp_path / "code-ran"
    inputs = keras.Input(shape=(None,), dtype="int32", name="words")
    # A lambda that leaves a file behind whenever it runs, as building the model on loading would.
    outputs = keras.layers.Lambda(lambda x, path=str(marker): (open(path, "w").close(), x)[1])(inputs)
    (folder / "model.keras").unlink()
    keras.Model(inputs, outputs).save(folder / "model.keras")
    marker.unlink()  # building it here ran it once
    assert exit_status(predict.main, ["--model-dir", str(folder), "leave boston"]) == 2
    one_line_error(capsys, f"{folder / 'model.keras'}: cannot be loaded", "safe_mode")
    assert not marker.exists()


# ---------------------------------------------------------------------------
# Odd but valid input at predict
# ---------------------------------------------------------------------------


def test_empty_and_blank_sentences_give_empty_results(tagger):
    results = tagger.tag(["", "   ", "\t"])
    assert tagger.has_intent  # the travel data has intents: a sentence without words has no intent either
    assert results == [{"words": [], "tags": [], "slots": {}, "intent": None, "intent_confidence": None}] * 3


def test_a_sentence_of_5000_words_gets_a_tag_for_every_word(tagger):
    words = ("flights from boston to denver on monday morning".split() * 625)[:5000]
    assert bucket_length(len(words)) == 5056  # longer than every bucket: rounded up to a multiple of 64
    [batch] = make_batches(encode_split(tagger.encoder, data.Split([words], [["O"] * 5000]), with_tags=False), 64)
    assert batch.inputs["words"].shape[1] == 5056
    [result] = tagger.tag([" ".join(words)])
    assert result["words"] == words and len(result["tags"]) == 5000
    assert set(result["tags"]) <= set(tagger.encoder.tags)


def test_unicode_sentences_keep_their_words_and_get_one_tag_each(tagger):
    sentences = [
        "café à Zürich demain",
        "我想 去 台北",
        "✈️ to boston 🙂",
        "naïve ﬁsh\u00a0to\u3000denver",
    ]  # a no-break space and an ideographic space between words
    results = tagger.tag(sentences)
    for sentence, result in zip(sentences, results):
        assert result["words"] == sentence.split()
        assert len(result["tags"]) == len(result["words"])
        assert set(result["tags"]) <= set(tagger.encoder.tags)
        for value in result["slots"].values():
            for part in value if isinstance(value, list) else [value]:
                assert set(part.split()) <= set(result["words"])


def test_mixed_case_tags_as_lowercase_and_keeps_the_words_as_written(tagger):
    shouted, plain = tagger.tag(["LEAVE Denver ON Monday MORNING", "leave denver on monday morning"])
    assert shouted["words"] == ["LEAVE", "Denver", "ON", "Monday", "MORNING"]
    assert shouted["tags"] == plain["tags"]


def test_punctuation_glued_to_a_known_word_becomes_a_word_of_its_own(tagger):
    encoder = tagger.encoder
    for word in ("boston", "denver", "detroit"):
        assert encoder.encode_words([word]) != [encoder.OTHER]
    [result] = tagger.tag(["flights to boston? (denver), from detroit... zzqx! ?"])
    assert result["words"] == [
        "flights",
        "to",
        "boston",
        "?",
        "(",
        "denver",
        "),",
        "from",
        "detroit",
        "...",
        "zzqx!",
        "?",
    ]
    assert len(result["tags"]) == len(result["words"])


def test_split_words_keeps_punctuation_of_known_words():
    encoder = data.Encoder.fit([["u.s.", "boston", "o'clock"]], [["O", "O", "O"]])
    assert words.split_words("u.s. boston. o'clock, 'boston' 'unknown' ...", encoder) == [
        "u.s.",
        "boston",
        ".",
        "o'clock",
        ",",
        "'",
        "boston",
        "'",
        "'unknown'",
        "...",
    ]


def test_predict_reads_stdin_lines_as_json_lines(straight_run, capsys, monkeypatch):
    monkeypatch.setattr(
        sys, "stdin", io.TextIOWrapper(io.BytesIO("leave Denver on monday\r\n\nvoo para são paulo\n".encode()))
    )
    assert exit_status(predict.main, ["--model-dir", str(straight_run)]) == 0
    lines = capsys.readouterr().out.splitlines()
    results = [json.loads(line) for line in lines]
    assert [r["words"] for r in results] == [["leave", "Denver", "on", "monday"], [], ["voo", "para", "são", "paulo"]]
    assert [len(r["tags"]) for r in results] == [4, 0, 4]


def test_predict_refuses_stdin_that_is_not_utf8_before_printing_anything(straight_run, capsys, monkeypatch):
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"leave denver\nto \xff\xfeboston\n")))
    assert exit_status(predict.main, ["--model-dir", str(straight_run)]) == 2
    one_line_error(capsys, "standard input line 2: bytes that are not UTF-8 (0xff at column 4)")
    assert capsys.readouterr().out == ""
