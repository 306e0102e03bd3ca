"""The HTTP service of `python -m recipes.serve`: a FastAPI app over loaded taggers, and its socket.

    app = create_app({"lstm-1": tagger})      # GET /health, POST /tag, GET / (the page)
    sock = bind("127.0.0.1", 8000)

A request's body is read up to the size limit and checked (`limits.py`), its
sentences split into words by the tagger's tokenizer step, and those words
passed straight to the model's `BatchQueue` (`batch_queue.py`), which tags
concurrent requests together. Every refusal is a 4xx answer `{"error": "<one line>"}`;
a failure of the model itself a 500 with one line; the service goes on serving.
"""

import asyncio
import contextlib
import json
import socket
from pathlib import Path

import fastapi
from fastapi.responses import HTMLResponse, JSONResponse
from starlette.exceptions import HTTPException

from data.command_line import one_line
from recipes.config.errors import UsageError
from recipes.inference.batch_queue import BatchQueue, warm_up_shapes
from recipes.inference.limits import BadRequest, Limits, parse_request, words_of

PAGE = Path(__file__).with_name("serve_page.html")


def model_names(model_dirs):
    """A unique name per run folder: its folder name, with as many parent names
    as it takes to tell two folders apart; the same folder twice gets `#2`."""
    paths = [Path(d).resolve() for d in model_dirs]
    distinct = list(dict.fromkeys(paths))
    depth = 1
    while len({path.parts[-depth:] for path in distinct}) < len(distinct):
        depth += 1
    names, seen = [], {}
    for path in paths:
        name = "/".join(path.parts[-depth:])
        seen[name] = seen.get(name, 0) + 1
        names.append(name if seen[name] == 1 else f"{name}#{seen[name]}")
    return names


def describe_model(name, model_dir, tagger):
    """What `/health` says of a loaded model: its name, recipe (from the run's config.json), heads and sizes."""
    config = {}
    if model_dir:
        try:
            config = json.loads((Path(model_dir) / "config.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):  # a run folder without it still serves; its recipe is unknown
            pass
    return {
        "name": name,
        "recipe": config.get("recipe"),
        "model_dir": str(model_dir),
        "head": config.get("head"),
        "engine": getattr(tagger, "engine_name", None),
        "intent_head": tagger.has_intent,
        "tags": tagger.encoder.num_tags,
        "intents": tagger.encoder.num_intents if tagger.has_intent else 0,
    }


def _error(status, message):
    return JSONResponse({"error": message}, status_code=status)


async def read_body(request, limit):
    """The request's body, or `BadRequest` (413) as soon as it passes `limit` bytes:
    a huge body is never read whole."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise BadRequest(413, f"the body is {int(declared):,} bytes; at most {limit:,}")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise BadRequest(413, f"the body is over {limit:,} bytes; at most {limit:,}")
        chunks.append(chunk)
    return b"".join(chunks)


def create_app(taggers, model_dirs=None, limits=Limits(), max_batch_sentences=256, batch_size=64, warm_up=False):
    """The ASGI app serving `taggers` (`{name: Tagger}`, the first the default).

    `model_dirs` (`{name: folder}`) fills `/health`'s description of each model.
    `warm_up` compiles every batch shape of every model in the background
    once the app starts (`/health` counts them); requests are answered meanwhile.
    """
    names = list(taggers)
    if not names:
        raise ValueError("create_app needs at least one tagger")
    model_dirs = model_dirs or {}
    models = [describe_model(name, model_dirs.get(name, ""), taggers[name]) for name in names]
    queues = {}
    shapes = warm_up_shapes(batch_size) if warm_up else []
    warming = []

    @contextlib.asynccontextmanager
    async def lifespan(app):
        for name in names:
            warming.append(asyncio.create_task(queue_for(name).warm_up(shapes)))
        yield
        for task in warming:
            task.cancel()
        for queue in queues.values():
            queue.close()

    app = fastapi.FastAPI(title="slot-rnn", lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None)

    def queue_for(name):
        # Made on first use, inside the running event loop.
        if name not in queues:
            queues[name] = BatchQueue(taggers[name], max_batch_sentences, batch_size)
        return queues[name]

    @app.exception_handler(HTTPException)
    async def http_error(request, error):
        return _error(error.status_code, str(error.detail))

    @app.exception_handler(BadRequest)
    async def bad_request(request, error):
        return _error(error.status, str(error))

    @app.exception_handler(Exception)
    async def failure(request, error):  # the model itself failed: still one line of JSON, never a traceback
        return _error(500, f"internal error: {one_line(error)}")

    @app.get("/health")
    async def health():
        warm = sum(queue.shapes_warm for queue in queues.values())
        for model in models:
            queue = queues.get(model["name"])
            model["batches"] = {"calls": queue.calls if queue else 0, "sentences": queue.sentences if queue else 0}
        return {
            "status": "ok",
            "models": models,
            "warm_up": {"shapes": len(shapes) * len(names), "compiled": warm, "done": warm == len(shapes) * len(names)},
        }

    @app.post("/tag")
    async def tag(request: fastapi.Request):
        body = await read_body(request, limits.max_body_bytes)
        parsed = parse_request(body, limits, names)
        words = words_of(parsed, taggers[parsed.model], limits)
        results = await queue_for(parsed.model).tag(words)
        # A response of our own: the results are plain JSON already, FastAPI need not walk them again.
        return JSONResponse({"model": parsed.model, "results": results})

    @app.get("/", response_class=HTMLResponse)
    async def page():
        return HTMLResponse(PAGE.read_text(encoding="utf-8"))

    return app


def bind(host, port):
    """A listening socket, or `UsageError` naming the flag when it cannot be had."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except (socket.gaierror, UnicodeError) as error:
        raise UsageError(f"--host {host[:40]}: not an address of this machine ({error})") from None
    family, kind, protocol, _, address = infos[0]
    sock = socket.socket(family, kind, protocol)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(address)
    except OSError as error:
        sock.close()
        flag = "--host" if error.errno == 99 else "--port"  # 99: EADDRNOTAVAIL
        value = host if flag == "--host" else port
        raise UsageError(f"{flag} {value}: cannot listen on {host}:{port} ({error.strerror})") from None
    sock.listen(2048)
    return sock
