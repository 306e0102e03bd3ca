"""The HTTP service as a real process on 127.0.0.1 (`python -m recipes.serve`).

Answers and concurrent clients, bad flags and a port in use refused before listening, the page in a
real browser, and Ctrl-C. One service process serves the module's tests.
"""

import json
import os
import signal
import subprocess
import sys
import threading
import urllib.error
import urllib.request

import pytest

import data
from recipes import serve
from recipes.inference import service as http_service
from support import (  # noqa: F401  (compilation_cache: an autouse fixture of this module)
    REPO_ROOT,
    assert_same_answers,
    compilation_cache,
    exit_status,
    one_line_error,
    subprocess_env,
)
from support import SERVE_SENTENCES as SENTENCES


def start_service(args, env, ready="serving "):
    """A started `python -m recipes.serve` process and the URL it printed."""
    process = subprocess.Popen(
        [sys.executable, "-m", "recipes.serve", *args],
        cwd=REPO_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    lines = []
    for line in process.stdout:
        lines.append(line)
        if line.startswith(ready):
            return process, line.split(" on ")[1].split()[0]
    process.wait(timeout=30)
    raise AssertionError(f"the service did not start: {''.join(lines)} {process.stderr.read()}")


def post(url, body):
    request = urllib.request.Request(
        url + "/tag", data=body, headers={"content-type": "application/json"}, method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


@pytest.fixture(scope="module")
def service_process(straight_run, compilation_cache):
    """One service for the module's process tests: the same run folder twice, as two models side by side."""
    cache = compilation_cache["jax_compilation_cache_dir"] if compilation_cache else "off"
    args = ["--model-dir", str(straight_run), "--model-dir", str(straight_run), "--port", "0"]
    # (no warm-up: compiling every shape of two models would cost more than these tests)
    process, url = start_service([*args, "--no-warm-up", "--compile-cache", cache], subprocess_env(compilation_cache))
    yield process, url
    if process.poll() is None:
        process.kill()
        process.wait(timeout=30)


@pytest.fixture
def service(service_process):
    return service_process[1]


def test_the_service_answers_on_127_0_0_1_as_a_real_process(service, tagger):
    assert service.startswith("http://127.0.0.1:")
    with urllib.request.urlopen(service + "/health", timeout=30) as answer:
        assert json.loads(answer.read())["models"][0]["recipe"] == "lstm"
    status, body = post(service, json.dumps({"sentences": SENTENCES}).encode())
    assert status == 200
    assert_same_answers(body["results"], json.loads(json.dumps(tagger.tag(SENTENCES))))
    for bad, code in ((b"{", 400), (b'{"sentences": 1}', 422), (b"x" * 70_000, 413)):
        status, body = post(service, bad)
        assert status == code and set(body) == {"error"}
    status, body = post(service, json.dumps({"sentences": ["leave taipei"]}).encode())
    assert status == 200 and len(body["results"]) == 1


def test_sixteen_concurrent_clients_get_answers_and_no_errors(service, tagger):
    sentences = [f"i would like to arrive taipei on november {day}" for day in range(1, 17)]
    expected = json.loads(json.dumps(tagger.tag(sentences)))
    answers = [None] * len(sentences)

    def client(index):
        answers[index] = post(service, json.dumps({"sentences": [sentences[index]]}).encode())

    threads = [threading.Thread(target=client, args=(i,)) for i in range(len(sentences))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert [status for status, _ in answers] == [200] * len(sentences)
    # Concurrent requests share model calls of varying sizes, so the confidence may round differently.
    assert_same_answers([body["results"][0] for _, body in answers], expected)


@pytest.mark.parametrize(
    "flags, fragment",
    [
        (["--model-dir", "no/such/run"], "--model-dir no/such/run: no such folder"),
        (["--port", "70000"], "argument --port: expected a value in [0, 65535], got '70000'"),
        (["--host", "no.such.host.invalid"], "--host no.such.host.invalid"),
        (["--engine", "onnx"], "no ONNX export; run python -m recipes.export --model-dir"),
        (["--engine", "tflite"], "argument --engine: invalid choice: 'tflite'"),
    ],
)
def test_a_bad_flag_stops_before_listening_with_one_line_and_status_2(straight_run, flags, fragment, capsys):
    argv = ["--model-dir", str(straight_run), "--no-warm-up", *flags]
    assert exit_status(serve.main, argv) == 2
    one_line_error(capsys, fragment, prefix="python -m recipes.serve: error:")


def test_a_port_in_use_stops_with_one_line_and_status_2(straight_run, capsys):
    taken = http_service.bind("127.0.0.1", 0)
    port = taken.getsockname()[1]
    try:
        assert exit_status(serve.main, ["--model-dir", str(straight_run), "--port", str(port)]) == 2
    finally:
        taken.close()
    one_line_error(capsys, f"--port {port}: cannot listen on 127.0.0.1:{port}", prefix="python -m recipes.serve:")


# The page in a real browser: Debian's Chromium, driven by Playwright (no browser is downloaded).

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")


BACKGROUNDS = "elements => elements.map(element => getComputedStyle(element).backgroundColor)"
SLOTS = "elements => elements.map(element => element.dataset.slot ?? null)"


def test_the_page_shows_each_words_slot_in_colour_and_the_intent(service, tiny_data, tagger, tmp_path):
    # The tiny model knows few slots yet: type the training sentence it finds the most slots in.
    sentences = [" ".join(words) for words in data.load_dataset(str(tiny_data)).train.words]
    results = tagger.tag(sentences)
    sentence, expected = max(zip(sentences, results), key=lambda pair: sum(t != "O" for t in pair[1]["tags"]))
    assert any(tag != "O" for tag in expected["tags"])  # something to colour
    if not os.access(CHROMIUM, os.X_OK):
        pytest.skip(f"no Chromium at {CHROMIUM} (Debian's chromium package; .ci/run installs it)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"],
        )
        page = browser.new_page()
        page.goto(service + "/")
        page.wait_for_selector("body[data-ready]")
        assert page.locator("section.model").count() == 2  # two run folders, side by side
        page.fill("#sentence", sentence)
        page.click("#tag")
        page.wait_for_selector("body[data-tagged]")
        for column in page.locator("section.model").all():  # both models answered
            assert column.locator(".word .text").all_inner_texts() == expected["words"]
            assert column.locator(".word .slot").all_inner_texts() == expected["tags"]
            colours = column.locator(".word").evaluate_all(BACKGROUNDS)
            slots = column.locator(".word").evaluate_all(SLOTS)
            for tag, colour, slot in zip(expected["tags"], colours, slots):
                if tag == "O":  # a plain word: no slot, no colour
                    assert slot is None and colour == "rgba(0, 0, 0, 0)"
                else:  # a colour per slot, the same for its B- and I- words
                    assert slot == tag[2:] and colour != "rgba(0, 0, 0, 0)"
                    assert colour == colours[slots.index(slot)]
            assert column.locator(".intent-name").inner_text() == expected["intent"]
            assert f"({100 * expected['intent_confidence']:.1f}%)" in column.locator(".intent").inner_text()
        page.screenshot(path=str(tmp_path / "page.png"))
        browser.close()
    assert (tmp_path / "page.png").stat().st_size > 0


def test_the_service_stops_on_ctrl_c_with_status_0(service_process):
    # (the module's last use of the service)
    process, _ = service_process
    process.send_signal(signal.SIGINT)
    assert process.wait(timeout=30) == 0
