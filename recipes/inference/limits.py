"""What one `POST /tag` may hold, and the checks that turn its body into a request or a 4xx answer.

    limits = Limits()                                  # the documented size limits of a request
    request = parse_request(body_bytes, limits, ["lstm-1", "feedforward-1"])
    words = words_of(request, tagger, limits)          # each sentence as the tagger splits it

`parse_request` turns a `POST /tag` body into a `TagRequest` or raises
`BadRequest` with an HTTP status and a one-line message; it never lets a
malformed body reach the model.
"""

from __future__ import annotations

import dataclasses
import json


@dataclasses.dataclass(frozen=True)
class Limits:
    """What one `POST /tag` may hold; past them the service answers 413 (the body) or 422."""

    max_body_bytes: int = 64 * 1024
    max_sentences: int = 64
    max_characters: int = 1000
    max_words: int = 128


class BadRequest(Exception):
    """A request the service refuses: `status` (4xx) and a one-line message."""

    def __init__(self, status, message):
        super().__init__(message)
        self.status = status


@dataclasses.dataclass
class TagRequest:
    sentences: list
    model: str
    pretokenized: bool = False


_KEYS = ("sentences", "model", "pretokenized")


def _kind(value):
    """The JSON name of a decoded value's type, for messages."""
    for kind, name in ((bool, "a boolean"), (str, "a string"), (int, "a number"), (float, "a number")):
        if isinstance(value, kind):
            return name
    return {list: "a list", dict: "an object", type(None): "null"}.get(type(value), type(value).__name__)


def parse_request(body, limits, models):
    """A `TagRequest` from the bytes of a `POST /tag` body, or `BadRequest`.

    `models` are the loaded models' names, the first being the default.
    """
    if len(body) > limits.max_body_bytes:
        raise BadRequest(413, f"the body is {len(body):,} bytes; at most {limits.max_body_bytes:,}")
    try:
        payload = json.loads(body)
    except UnicodeDecodeError:
        raise BadRequest(400, "the body is not UTF-8 text") from None
    except json.JSONDecodeError as error:
        raise BadRequest(400, f"the body is not valid JSON ({error.msg} at line {error.lineno} column {error.colno})")
    except RecursionError:
        raise BadRequest(400, "the body is not valid JSON (nested too deeply)") from None
    if not isinstance(payload, dict):
        raise BadRequest(422, f'the body must be a JSON object with a "sentences" list, got {_kind(payload)}')
    unknown = [key for key in payload if key not in _KEYS]
    if unknown:
        expected = ", ".join(f'"{key}"' for key in _KEYS)
        raise BadRequest(422, f'unknown key "{unknown[0][:40]}" (expected {expected})')
    if "sentences" not in payload:
        raise BadRequest(422, 'missing key "sentences" (a list of strings)')
    sentences = payload["sentences"]
    if not isinstance(sentences, list):
        raise BadRequest(422, f'"sentences" must be a list of strings, got {_kind(sentences)}')
    if len(sentences) > limits.max_sentences:
        raise BadRequest(422, f'"sentences" holds {len(sentences):,} sentences; at most {limits.max_sentences:,}')
    for index, sentence in enumerate(sentences):
        if not isinstance(sentence, str):
            raise BadRequest(422, f"sentences[{index}] must be a string, got {_kind(sentence)}")
        if len(sentence) > limits.max_characters:
            raise BadRequest(
                422, f"sentences[{index}] has {len(sentence):,} characters; at most {limits.max_characters:,}"
            )
    model = payload.get("model", models[0])
    if not isinstance(model, str):
        raise BadRequest(422, f'"model" must be a string, got {_kind(model)}')
    if model not in models:
        raise BadRequest(422, f'unknown model "{model[:40]}" (loaded: {", ".join(models)})')
    pretokenized = payload.get("pretokenized", False)
    if not isinstance(pretokenized, bool):
        raise BadRequest(422, f'"pretokenized" must be true or false, got {_kind(pretokenized)}')
    return TagRequest(sentences, model, pretokenized)


def words_of(request, tagger, limits):
    """Each sentence of `request` split into words, as `Tagger.tag` splits it, or
    `BadRequest` for a sentence of more than `limits.max_words` words."""
    words = []
    for index, sentence in enumerate(request.sentences):
        split = tagger.words(sentence, request.pretokenized)
        if len(split) > limits.max_words:
            raise BadRequest(422, f"sentences[{index}] has {len(split):,} words; at most {limits.max_words:,}")
        words.append(split)
    return words
