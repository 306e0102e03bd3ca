import numpy as np
import pytest

import data
from recipes import lstm
from recipes.config import errors
from recipes.model import parts as model_parts


@pytest.fixture
def encoder():
    return data.Encoder.fit(
        [["Leave", "taipei", "on", "november", "2nd"]], [["O", "B-fromloc.city_name", "O", "O", "O"]]
    )


def write(path, text):
    path.write_text(text, encoding="utf-8")
    return path


def test_reads_vectors_for_the_vocabulary_after_normalising(encoder, tmp_path):
    path = write(tmp_path / "vectors.txt", "2 3\nTAIPEI 1 2 3\nleave 4 5 6\nunrelated 7 8 9\ntaipei 0 0 1\n1st 1 1 1\n")
    matrix, found = data.read_word_vectors(path, encoder)
    assert matrix.shape == (encoder.word_vocabulary_size, 3) and found == 2
    assert matrix[encoder.encode_words(["taipei"])[0]].tolist() == [1, 2, 3]  # first occurrence wins
    assert matrix[encoder.encode_words(["leave"])[0]].tolist() == [4, 5, 6]
    assert not matrix[:2].any()  # PAD and OTHER stay zero


@pytest.mark.parametrize(
    "text,message",
    [
        ("taipei 1 2 3\nleave 4 5\n", "line 2: 2 numbers, expected 3"),
        ("taipei 1 x 3\n", "line 1: a value is not a number"),
        ("", "holds no word vectors"),
    ],
)
def test_bad_vector_files_name_the_line(encoder, tmp_path, text, message):
    with pytest.raises(data.DatasetError, match=message):
        data.read_word_vectors(write(tmp_path / "v.txt", text), encoder)


def test_vectors_start_the_model_word_vectors(encoder, tmp_path):
    matrix, _ = data.read_word_vectors(write(tmp_path / "v.txt", "taipei 1 2 3 4\n"), encoder)
    model = lstm.build_model(encoder, depth=1, units=4, embedding_dim=4)
    before = np.array(model.get_layer("word_vectors").get_weights()[0])
    model_parts.set_word_vectors(model, matrix)
    after = model.get_layer("word_vectors").get_weights()[0]
    taipei = encoder.encode_words(["taipei"])[0]
    assert after[taipei].tolist() == [1, 2, 3, 4]
    others = [i for i in range(len(after)) if i != taipei]
    np.testing.assert_array_equal(after[others], before[others])
    with pytest.raises(errors.UsageError, match="--embedding-dim 4"):
        model_parts.set_word_vectors(lstm.build_model(encoder, depth=1, units=4, embedding_dim=8), matrix)
