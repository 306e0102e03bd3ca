"""The HTTP service in-process, through the ASGI test client (`recipes.inference.service`).

Health and tagging, several models by name, bad requests answered with a 4xx and one line of JSON,
requests that arrive together tagged in one model call, the ONNX engine, and the warm-up.
"""

import asyncio
import json
import time

import httpx2
import pytest
from fastapi.testclient import TestClient

from data.batching import DEFAULT_BUCKETS
from recipes.exporting import writer
from recipes.inference import service as http_service
from recipes.inference.limits import Limits
from recipes.inference.tagger import OnnxTagger, Tagger
from support import SERVE_SENTENCES as SENTENCES
from support import (  # noqa: F401  (compilation_cache: an autouse fixture of this module)
    assert_same_answers,
    compilation_cache,
)


@pytest.fixture(scope="module")
def client(tagger, straight_run):
    app = http_service.create_app({"lstm": tagger}, {"lstm": str(straight_run)})
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


def test_health_names_the_models_and_their_recipes(client, straight_run):
    answer = client.get("/health")
    assert answer.status_code == 200
    body = answer.json()
    assert body["status"] == "ok"
    assert [(m["name"], m["recipe"], m["intent_head"]) for m in body["models"]] == [("lstm", "lstm", True)]
    assert body["models"][0]["model_dir"] == str(straight_run)


def test_tag_returns_what_predict_prints_for_each_sentence(client, tagger):
    answer = client.post("/tag", json={"sentences": SENTENCES})
    assert answer.status_code == 200
    body = answer.json()
    assert body["model"] == "lstm"
    # JSON round trip of the library's own result: the same objects `recipes.predict` prints.
    assert_same_answers(body["results"], json.loads(json.dumps(tagger.tag(SENTENCES))))
    assert body["results"][2] == {"words": [], "tags": [], "slots": {}, "intent": None, "intent_confidence": None}
    assert body["results"][1]["intent"] and 0 < body["results"][1]["intent_confidence"] <= 1


def test_tag_with_no_sentences_answers_an_empty_list(client):
    answer = client.post("/tag", json={"sentences": []})
    assert answer.status_code == 200 and answer.json()["results"] == []


def test_pretokenized_splits_on_white_space_only(client, tagger):
    sentence = "flights to boston?"
    raw = client.post("/tag", json={"sentences": [sentence]}).json()["results"][0]
    pretokenized = client.post("/tag", json={"sentences": [sentence], "pretokenized": True}).json()["results"][0]
    assert pretokenized["words"] == ["flights", "to", "boston?"]
    assert raw["words"] == tagger.tag([sentence])[0]["words"]
    assert pretokenized == json.loads(json.dumps(tagger.tag([sentence], pretokenized=True)[0]))


def test_two_models_answer_by_name(tagger, untrained_run):
    other = Tagger.load(untrained_run)
    app = http_service.create_app({"trained": tagger, "untrained": other})
    with TestClient(app) as client:
        names = [m["name"] for m in client.get("/health").json()["models"]]
        assert names == ["trained", "untrained"]
        default = client.post("/tag", json={"sentences": SENTENCES[:1]}).json()
        chosen = client.post("/tag", json={"sentences": SENTENCES[:1], "model": "untrained"}).json()
    assert default["model"] == "trained" and chosen["model"] == "untrained"
    assert default["results"] == json.loads(json.dumps(tagger.tag(SENTENCES[:1])))
    assert chosen["results"] == json.loads(json.dumps(other.tag(SENTENCES[:1])))


def test_model_names_are_the_run_folders_and_stay_unique(tmp_path):
    assert http_service.model_names(["runs/lstm-1", "runs/gru-2"]) == ["lstm-1", "gru-2"]
    assert http_service.model_names(["a/run", "b/run"]) == ["a/run", "b/run"]
    assert http_service.model_names(["runs/lstm-1", "runs/lstm-1"]) == ["lstm-1", "lstm-1#2"]


LIMITS = Limits()
BAD_REQUESTS = {
    "not JSON": (b'{"sentences": [', 400, "not valid JSON"),
    "not UTF-8": (b'{"sentences": ["\xff"]}', 400, "not UTF-8"),
    "a list, not an object": (b'["leave taipei"]', 422, "must be a JSON object"),
    "no sentences key": (b'{"sentence": ["leave taipei"]}', 422, 'unknown key "sentence"'),
    "empty object": (b"{}", 422, 'missing key "sentences"'),
    "a string, not a list": (b'{"sentences": "leave taipei"}', 422, "must be a list of strings, got a string"),
    "a number in the list": (b'{"sentences": ["leave taipei", 3]}', 422, "sentences[1] must be a string"),
    "null in the list": (b'{"sentences": [null]}', 422, "sentences[0] must be a string, got null"),
    "nested list": (b'{"sentences": [["leave", "taipei"]]}', 422, "sentences[0] must be a string, got a list"),
    "too many sentences": (
        json.dumps({"sentences": ["x"] * (LIMITS.max_sentences + 1)}).encode(),
        422,
        f"at most {LIMITS.max_sentences}",
    ),
    "too many characters": (
        json.dumps({"sentences": ["a" * (LIMITS.max_characters + 1)]}).encode(),
        422,
        "sentences[0] has 1,001 characters",
    ),
    "too many words": (
        json.dumps({"sentences": ["ok", " ".join(["to"] * (LIMITS.max_words + 1))]}).encode(),
        422,
        "sentences[1] has 129 words",
    ),
    "unknown model": (b'{"sentences": ["x"], "model": "gru"}', 422, 'unknown model "gru" (loaded: lstm)'),
    "model not a string": (b'{"sentences": ["x"], "model": 1}', 422, '"model" must be a string'),
    "pretokenized not a boolean": (b'{"sentences": ["x"], "pretokenized": "yes"}', 422, "true or false"),
    "body over the limit": (
        json.dumps({"sentences": ["x" * 900] * 80}).encode(),
        413,
        f"at most {LIMITS.max_body_bytes:,}",
    ),
    "deeply nested": (b"[" * 100_000 + b"]" * 100_000, 413, "bytes"),
    "nested under the limit": (b"[" * 30_000 + b"]" * 30_000, 400, "not valid JSON"),
}


@pytest.mark.parametrize("name", BAD_REQUESTS)
def test_a_bad_request_gets_a_4xx_and_one_line_of_json_and_the_service_goes_on(client, name):
    body, status, fragment = BAD_REQUESTS[name]
    answer = client.post("/tag", content=body, headers={"content-type": "application/json"})
    assert answer.status_code == status, answer.text
    error = answer.json()["error"]
    assert fragment in error and "\n" not in error and "Traceback" not in error
    assert set(answer.json()) == {"error"}
    assert client.post("/tag", json={"sentences": ["leave taipei"]}).status_code == 200


def test_a_body_over_the_limit_is_refused_without_a_content_length(client):
    def chunks():  # chunked transfer: the size is only known while reading
        for _ in range(100):
            yield b" " * 1024

    answer = client.post("/tag", content=chunks(), headers={"content-type": "application/json"})
    assert answer.status_code == 413 and "at most 65,536" in answer.json()["error"]


@pytest.mark.parametrize(
    "method, path, status", [("get", "/tag", 405), ("get", "/nowhere", 404), ("post", "/health", 405)]
)
def test_a_wrong_path_or_method_answers_json(client, method, path, status):
    answer = getattr(client, method)(path)
    assert answer.status_code == status and set(answer.json()) == {"error"}


def test_the_page_is_served_and_asks_the_service(client):
    answer = client.get("/")
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/html")
    assert 'fetch("/tag"' in answer.text and 'fetch("/health")' in answer.text


class SlowTagger:
    """A tagger whose calls take a while and are counted: concurrent requests must share them."""

    def __init__(self, tagger):
        self.tagger, self.encoder, self.has_intent = tagger, tagger.encoder, tagger.has_intent
        self.calls = []

    def words(self, sentence, pretokenized=False):
        return self.tagger.words(sentence, pretokenized)

    def tag_words(self, sentences, batch_size=64, buckets=DEFAULT_BUCKETS):
        self.calls.append(len(sentences))
        time.sleep(1.0)
        return self.tagger.tag_words(sentences, batch_size, buckets)


def test_requests_that_arrive_together_are_tagged_in_one_model_call(tagger):
    slow = SlowTagger(tagger)
    app = http_service.create_app({"lstm": slow})
    sentences = [f"leave taipei on november {day}" for day in range(1, 17)] + SENTENCES[:1] * 4

    async def send_all():
        transport = httpx2.ASGITransport(app=app)
        async with httpx2.AsyncClient(transport=transport, base_url="http://test") as client:
            first = asyncio.create_task(client.post("/tag", json={"sentences": sentences[:1]}))
            while not slow.calls:  # the first request's model call has started...
                await asyncio.sleep(0.01)
            # ...and the others arrive while it runs.
            rest = await asyncio.gather(*(client.post("/tag", json={"sentences": [s]}) for s in sentences[1:]))
            answers = [await first, *rest]
        return [answer.json()["results"][0] for answer in answers]

    results = asyncio.run(send_all())
    # The first request is tagged at once, alone; the others share the next call.
    assert slow.calls == [1, len(sentences) - 1]
    # Each sentence padded beside the others still gets the answer it gets alone.
    assert_same_answers(results, json.loads(json.dumps(tagger.tag(sentences))))
    for sentence, result in zip(sentences[:3], results):
        assert_same_answers([result], json.loads(json.dumps(tagger.tag([sentence]))))


def test_the_onnx_engine_serves_what_the_keras_engine_serves(tagger, straight_run, tmp_path):
    writer.export_run(straight_run, "onnx", output=tmp_path / "onnx")
    onnx_tagger = OnnxTagger.load(straight_run, tmp_path / "onnx")
    app = http_service.create_app({"lstm": onnx_tagger}, {"lstm": str(straight_run)}, warm_up=False)
    sentences = [*SENTENCES, "flights from boston to denver on monday morning"]
    with TestClient(app) as client:
        health = client.get("/health").json()
        answers = [client.post("/tag", json={"sentences": [sentence]}).json()["results"][0] for sentence in sentences]
        together = client.post("/tag", json={"sentences": sentences}).json()["results"]
    assert [(model["name"], model["engine"]) for model in health["models"]] == [("lstm", "onnx")]
    expected = json.loads(json.dumps(tagger.tag(sentences)))
    assert_same_answers(answers, expected, confidence=1e-5)
    assert_same_answers(together, expected, confidence=1e-5)


class RecordingTagger:
    """Answers without a model and records the shape of every call: (sentences, words per sentence)."""

    encoder, has_intent = None, False

    def __init__(self):
        self.calls = []

    def words(self, sentence, pretokenized=False):
        return sentence.split()

    def tag_words(self, sentences, batch_size=64, buckets=DEFAULT_BUCKETS):
        self.calls.append((len(sentences), len(sentences[0])))
        return [{"words": s, "tags": ["O"] * len(s), "slots": {}} for s in sentences]


def test_warm_up_calls_every_batch_shape_in_the_background_and_health_counts_them(tagger):
    recorder, other = RecordingTagger(), RecordingTagger()
    recorder.encoder = other.encoder = tagger.encoder
    app = http_service.create_app({"a": recorder, "b": other}, batch_size=4, warm_up=True)
    with TestClient(app) as client:
        deadline = time.monotonic() + 30
        while not client.get("/health").json()["warm_up"]["done"] and time.monotonic() < deadline:
            time.sleep(0.01)
        health = client.get("/health").json()
        answer = client.post("/tag", json={"sentences": ["leave taipei"], "model": "a"})
    assert health["warm_up"] == {"shapes": 2 * 3 * len(DEFAULT_BUCKETS), "compiled": 42, "done": True}
    # One-sentence batches of every padded length first, then 2 and 4 rows (batch size 4).
    assert recorder.calls[:21] == [(rows, length) for rows in (1, 2, 4) for length in DEFAULT_BUCKETS]
    assert answer.status_code == 200 and recorder.calls[21:] == [(1, 2)]
