"""Generated sentences for what predict reads: `split_words` puts back the non-space text of any
sentence, and `read_sentences` decodes every line or names, in one line, the first that is not UTF-8.

The runs are derandomized: CI tries the same cases every time.
"""

from hypothesis import given, settings
from hypothesis import strategies as st

from recipes.config.errors import UsageError
from recipes.inference.words import split_words
from recipes.predict import read_sentences
from support import FUZZ_SETTINGS as SETTINGS

# --------------------------------------------------------------------------- what predict reads


class Vocabulary:
    """The two parts of an encoder that `split_words` uses."""

    OTHER = 1

    def __init__(self, words):
        self.known = set(words)

    def encode_words(self, words):
        return [2 if word in self.known else self.OTHER for word in words]


KNOWN = Vocabulary(["boston", "u.s.", "o'clock", "taipei", "日本", "ש"])


@settings(max_examples=200, **SETTINGS)
@given(
    sentence=st.text(max_size=60) | st.builds(lambda a, b: a + "boston" + b, st.text(max_size=5), st.text(max_size=5))
)
def test_split_words_puts_back_the_non_space_text_of_any_sentence(sentence):
    words = split_words(sentence, KNOWN)
    assert "".join(words) == "".join(sentence.split())
    assert all(word and "".join(word.split()) == word for word in words)
    assert len(words) >= len(sentence.split())


@settings(max_examples=150, **SETTINGS)
@given(
    lines=st.lists(
        st.binary(max_size=40) | st.text(max_size=20).map(lambda t: t.encode("utf-8", "surrogatepass")), max_size=6
    )
)
def test_read_sentences_decodes_every_line_or_names_the_first_bad_one(lines):
    try:
        sentences_read = read_sentences(lines, "standard input line {}")
    except UsageError as error:
        message = str(error)
        assert len(message.splitlines()) == 1
        bad = next(number for number, line in enumerate(lines, start=1) if not is_utf8(line))
        assert message.startswith(f"standard input line {bad}: bytes that are not UTF-8")
        return
    assert sentences_read == [line.decode("utf-8").rstrip("\r\n") for line in lines]


@settings(max_examples=60, **SETTINGS)
@given(argument=st.text(st.characters(codec="utf-8") | st.sampled_from("\udc80\udcff\udce9"), max_size=20))
def test_read_sentences_of_arguments_with_lone_surrogates_names_the_sentence(argument):
    encoded = argument.encode("utf-8", "surrogateescape")
    try:
        assert read_sentences([encoded], "sentence {}") == [argument.rstrip("\r\n")]
    except UsageError as error:
        assert str(error).startswith("sentence 1: bytes that are not UTF-8") and len(str(error).splitlines()) == 1


def is_utf8(line: bytes) -> bool:
    try:
        line.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True
