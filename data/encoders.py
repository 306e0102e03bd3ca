"""Turn words and tags into integer ids, and back; fitted on train, saved as JSON.

Three vocabularies, all fitted on the training split only:

- words: normalized words (lowercased, every digit written as `0`) seen at
  least `min_count` times; id 0 is padding (`<pad>`), id 1 every other word
  (`<other>`), real words from 2 in order of falling frequency;
- letter trigrams of the normalized words, with the same two reserved ids, so a
  word never seen in train still has an informative encoding
  ("taipei" -> "#ta", "tai", "aip", "ipe", "pei", "ei#");
- tags, in id order: "O" first, then the other tags alphabetically;
- intents (when train has them), alphabetically; an intent is one string, so
  a multi-intent label such as `atis_flight#atis_airfare` is one intent.

Example:

>>> encoder = Encoder.fit([["flights", "to", "Boston"]], [["O", "O", "B-toloc.city_name"]])
>>> encoder.encode_words(["flights", "to", "boston", "taipei"])
[3, 4, 2, 1]
>>> encoder.trigrams("to")
['#to', 'to#']
>>> encoder.encode_tags(["O", "B-toloc.city_name"])
[0, 1]
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

from data.atomic import atomic_write_text
from data.readers import DatasetError

FORMAT = "slot-rnn-encoder"
VERSION = 1
PAD_TOKEN = "<pad>"
OTHER_TOKEN = "<other>"
BOUNDARY = "#"
MAX_TRIGRAMS_LIMIT = 1024  # a loaded config asking for more trigram ids per word is refused


def _frequency_order(counts: Counter, min_count: int) -> list[str]:
    """Items seen at least `min_count` times, most frequent first, ties alphabetical."""
    kept = [item for item, count in counts.items() if count >= min_count]
    return sorted(kept, key=lambda item: (-counts[item], item))


class Encoder:
    """Word, letter-trigram and tag ids for one dataset.

    Build it with `Encoder.fit` on the training split; save it next to a model
    with `save` and restore it with `Encoder.load` (plain JSON, no pickle).

    Attributes:
        PAD, OTHER: reserved ids 0 and 1, in both the word and the trigram
            vocabularies. Padding is always 0; a word or trigram not kept from
            train is always 1.
        words: the word vocabulary in id order (`words[0] == "<pad>"`,
            `words[1] == "<other>"`).
        tags: tag names in id order ("O" first when train has it).
        intents: intent names in id order; empty when train has no intents.
        max_trigrams: trigram ids per word; longer words keep their first
            `max_trigrams` trigrams, shorter ones are padded with 0.
    """

    PAD = 0
    OTHER = 1

    def __init__(
        self,
        *,
        words,
        trigrams,
        tags,
        intents=(),
        lowercase=True,
        normalize_digits=True,
        min_count=1,
        trigram_boundary=True,
        max_trigrams=16,
    ):
        self.lowercase = bool(lowercase)
        self.normalize_digits = bool(normalize_digits)
        self.min_count = int(min_count)
        self.trigram_boundary = bool(trigram_boundary)
        self.max_trigrams = int(max_trigrams)
        self.words = [PAD_TOKEN, OTHER_TOKEN, *words]
        self.trigram_vocabulary = [PAD_TOKEN, OTHER_TOKEN, *trigrams]
        self.tags = list(tags)
        self._word_ids = {word: index for index, word in enumerate(words, start=2)}
        self._trigram_ids = {trigram: index for index, trigram in enumerate(trigrams, start=2)}
        self._tag_ids = {tag: index for index, tag in enumerate(self.tags)}
        self.intents = list(intents)
        self._intent_ids = {intent: index for index, intent in enumerate(self.intents)}

    # ------------------------------------------------------------------ fitting

    @classmethod
    def fit(
        cls,
        words,
        tags,
        intents=None,
        *,
        lowercase=True,
        normalize_digits=True,
        min_count=1,
        trigram_boundary=True,
        max_trigrams=16,
    ) -> "Encoder":
        """Fit the vocabularies on training sentences.

        Args:
            words: sentences of words (the training split's `words`).
            tags: their tags, one per word.
            intents: one intent per sentence (the training split's `intents`), or None.
            lowercase: compare words in lowercase.
            normalize_digits: write every digit as `0` ("2nd" -> "0nd", "645" -> "000").
            min_count: a word or trigram seen fewer times in train is `OTHER`.
            trigram_boundary: mark word starts and ends with `#` before cutting trigrams.
            max_trigrams: trigram ids kept per word.
        """
        if not isinstance(min_count, int) or min_count < 1:
            raise ValueError(
                f"Received an invalid value for argument min_count, expected a positive integer, got {min_count}."
            )
        if not isinstance(max_trigrams, int) or not 1 <= max_trigrams <= MAX_TRIGRAMS_LIMIT:
            raise ValueError(
                "Received an invalid value for argument max_trigrams, expected an integer from 1 to "
                f"{MAX_TRIGRAMS_LIMIT}, got {max_trigrams}."
            )
        if len(words) != len(tags):
            raise DatasetError(f"{len(words)} word sequences but {len(tags)} tag sequences")
        if intents is not None and len(intents) != len(words):
            raise DatasetError(f"{len(words)} word sequences but {len(intents)} intents")
        encoder = cls(
            words=[],
            trigrams=[],
            tags=[],
            lowercase=lowercase,
            normalize_digits=normalize_digits,
            min_count=min_count,
            trigram_boundary=trigram_boundary,
            max_trigrams=max_trigrams,
        )
        word_counts, trigram_counts, tag_counts = Counter(), Counter(), Counter()
        for number, (sentence, sentence_tags) in enumerate(zip(words, tags), start=1):
            if len(sentence) != len(sentence_tags):
                raise DatasetError(f"sentence {number}: {len(sentence_tags)} tags for {len(sentence)} words")
            for word in sentence:
                normalized = encoder.normalize(word)
                word_counts[normalized] += 1
                trigram_counts.update(encoder._trigrams_of_normalized(normalized))
            tag_counts.update(sentence_tags)
        tag_names = sorted(tag_counts)
        if "O" in tag_counts:
            tag_names = ["O"] + [tag for tag in tag_names if tag != "O"]
        return cls(
            words=_frequency_order(word_counts, min_count),
            trigrams=_frequency_order(trigram_counts, min_count),
            tags=tag_names,
            intents=sorted(set(intents)) if intents is not None else (),
            lowercase=lowercase,
            normalize_digits=normalize_digits,
            min_count=min_count,
            trigram_boundary=trigram_boundary,
            max_trigrams=max_trigrams,
        )

    # ------------------------------------------------------------------ sizes

    @property
    def word_vocabulary_size(self) -> int:
        """Word ids, PAD and OTHER included."""
        return len(self.words)

    @property
    def trigram_vocabulary_size(self) -> int:
        """Trigram ids, PAD and OTHER included."""
        return len(self.trigram_vocabulary)

    @property
    def num_tags(self) -> int:
        return len(self.tags)

    @property
    def num_intents(self) -> int:
        """Intents seen in train; 0 when train has none."""
        return len(self.intents)

    # ------------------------------------------------------------------ words

    def normalize(self, word: str) -> str:
        """The word as the vocabularies see it: lowercased and digits as `0`, as configured."""
        if self.lowercase:
            word = word.lower()
        if self.normalize_digits:
            word = "".join("0" if character.isdigit() else character for character in word)
        return word

    def encode_words(self, words: list[str]) -> list[int]:
        """Word ids; a word not in the vocabulary is `OTHER` (1), never `PAD` (0)."""
        return [self._word_ids.get(self.normalize(word), self.OTHER) for word in words]

    def _trigrams_of_normalized(self, word: str) -> list[str]:
        text = f"{BOUNDARY}{word}{BOUNDARY}" if self.trigram_boundary else word
        if len(text) < 3:
            return [text]
        return [text[start : start + 3] for start in range(len(text) - 2)]

    def trigrams(self, word: str) -> list[str]:
        """Letter trigrams of the normalized word, in order.

        "apple" -> ["app", "ppl", "ple"]; with `trigram_boundary` the word is
        read as "#apple#" -> ["#ap", "app", "ppl", "ple", "le#"]. A text shorter
        than three letters is its own single trigram: "to" -> ["to"] without
        boundaries ("#to", "to#" with them; "a" -> "#a#").
        """
        return self._trigrams_of_normalized(self.normalize(word))

    def encode_trigrams(self, words: list[str]) -> list[list[int]]:
        """One row of exactly `max_trigrams` trigram ids per word.

        Unknown trigrams are `OTHER` (1), the row is filled with `PAD` (0), and
        every word keeps at least one non-zero id. Longer words keep their first
        `max_trigrams` trigrams.
        """
        rows = []
        for word in words:
            ids = [self._trigram_ids.get(trigram, self.OTHER) for trigram in self.trigrams(word)]
            ids = ids[: self.max_trigrams]
            rows.append(ids + [self.PAD] * (self.max_trigrams - len(ids)))
        return rows

    # ------------------------------------------------------------------ tags

    def encode_tags(self, tags: list[str], *, unknown: str | None = None) -> list[int]:
        """Tag ids.

        A tag that never occurs in train raises `DatasetError`, unless
        `unknown` names a known tag ("O"): then it maps to that tag's id. Use
        that only for a dev loss; score on the gold tag strings, never on ids.
        """
        fallback = None
        if unknown is not None:
            if unknown not in self._tag_ids:
                raise ValueError(
                    f"Received an invalid value for argument unknown, expected a known tag, got {unknown!r}."
                )
            fallback = self._tag_ids[unknown]
        ids = []
        for tag in tags:
            index = self._tag_ids.get(tag, fallback)
            if index is None:
                raise DatasetError(
                    f"tag {tag!r} does not occur in the training data (pass unknown='O' to map it to 'O')"
                )
            ids.append(index)
        return ids

    def decode_tags(self, ids) -> list[str]:
        """Tag names of ids (ints or a 1-D integer array)."""
        names = []
        for index in ids:
            index = int(index)
            if not 0 <= index < len(self.tags):
                raise ValueError(f"tag id {index} is outside 0..{len(self.tags) - 1}")
            names.append(self.tags[index])
        return names

    # ------------------------------------------------------------------ intents

    def encode_intents(self, intents, *, unknown=None) -> list[int]:
        """Intent ids. An intent that never occurs in train raises `DatasetError`,
        unless `unknown` is an int (such as -1, which the intent loss ignores):
        then it maps to that. Score on the gold strings, never on ids."""
        ids = []
        for intent in intents:
            index = self._intent_ids.get(intent, unknown)
            if index is None:
                raise DatasetError(f"intent {intent!r} does not occur in the training data")
            ids.append(index)
        return ids

    def decode_intent(self, index) -> str:
        """The intent name of an id."""
        index = int(index)
        if not 0 <= index < len(self.intents):
            raise ValueError(f"intent id {index} is outside 0..{len(self.intents) - 1}")
        return self.intents[index]

    # ------------------------------------------------------------------ saving

    def get_config(self) -> dict:
        """Everything needed to rebuild the encoder, as plain JSON types."""
        return {
            "format": FORMAT,
            "version": VERSION,
            "lowercase": self.lowercase,
            "normalize_digits": self.normalize_digits,
            "min_count": self.min_count,
            "trigram_boundary": self.trigram_boundary,
            "max_trigrams": self.max_trigrams,
            "words": self.words,
            "trigrams": self.trigram_vocabulary,
            "tags": self.tags,
            "intents": self.intents,
        }

    @classmethod
    def from_config(cls, config) -> "Encoder":
        """Rebuild from `get_config()`; a config of the wrong shape raises `DatasetError`."""
        if not isinstance(config, dict):
            raise DatasetError(f"encoder config must be a JSON object, got {type(config).__name__}")
        if config.get("format") != FORMAT or config.get("version") != VERSION:
            raise DatasetError(
                f"not a {FORMAT} version {VERSION} config (format {config.get('format')!r}, "
                f"version {config.get('version')!r})"
            )
        for key in ("lowercase", "normalize_digits", "trigram_boundary"):
            if not isinstance(config.get(key), bool):
                raise DatasetError(f"encoder config: {key!r} must be true or false, got {config.get(key)!r}")
        for key, largest in (("min_count", 10**9), ("max_trigrams", MAX_TRIGRAMS_LIMIT)):
            value = config.get(key)
            if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= largest:
                raise DatasetError(f"encoder config: {key!r} must be an integer from 1 to {largest}, got {value!r}")
        for key in ("words", "trigrams", "tags"):
            value = config.get(key)
            if not isinstance(value, list) or not all(isinstance(item, str) and item for item in value):
                raise DatasetError(f"encoder config: {key!r} must be a list of non-empty strings")
        for key in ("words", "trigrams"):
            value = config[key]
            if value[:2] != [PAD_TOKEN, OTHER_TOKEN]:
                raise DatasetError(f"encoder config: {key!r} must start with {PAD_TOKEN!r}, {OTHER_TOKEN!r}")
            if len(set(value[2:])) != len(value) - 2:
                raise DatasetError(f"encoder config: {key!r} holds an entry twice")
        if not config["tags"] or len(set(config["tags"])) != len(config["tags"]):
            raise DatasetError("encoder config: 'tags' must be a non-empty list of distinct tags")
        intents = config.get("intents", [])  # encoders saved before intents existed hold none
        if not isinstance(intents, list) or not all(isinstance(item, str) and item for item in intents):
            raise DatasetError("encoder config: 'intents' must be a list of non-empty strings")
        if len(set(intents)) != len(intents):
            raise DatasetError("encoder config: 'intents' holds an entry twice")
        return cls(
            words=config["words"][2:],
            trigrams=config["trigrams"][2:],
            tags=config["tags"],
            intents=intents,
            lowercase=config["lowercase"],
            normalize_digits=config["normalize_digits"],
            min_count=config["min_count"],
            trigram_boundary=config["trigram_boundary"],
            max_trigrams=config["max_trigrams"],
        )

    def save(self, path) -> None:
        """Write the config as JSON (to a temporary file beside `path`, then renamed: never half-written)."""
        atomic_write_text(path, json.dumps(self.get_config(), ensure_ascii=False, indent=1) + "\n")

    @classmethod
    def load(cls, path) -> "Encoder":
        """Read an encoder saved by `save`; a corrupted or altered file raises `DatasetError` naming it."""
        path = Path(path)
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise DatasetError(f"{path}: no such file") from None
        except UnicodeDecodeError:
            raise DatasetError(f"{path}: bytes that are not UTF-8, not an encoder file") from None
        except OSError as error:
            raise DatasetError(f"{path}: cannot read ({error.strerror or error})") from None
        try:
            config = json.loads(text)
        except json.JSONDecodeError as error:
            raise DatasetError(f"{path} line {error.lineno}: not valid JSON ({error.msg})") from None
        try:
            return cls.from_config(config)
        except DatasetError as error:
            raise DatasetError(f"{path}: {error}") from None

    def __repr__(self) -> str:
        return (
            f"Encoder(words={self.word_vocabulary_size}, trigrams={self.trigram_vocabulary_size}, "
            f"tags={self.num_tags}, intents={self.num_intents}, max_trigrams={self.max_trigrams})"
        )
