"""
Title: Serve trained taggers over HTTP, with a page to try them
Description: Loads one or more run folders and answers `POST /tag` with the objects `recipes.predict` prints.

    python -m recipes.serve --model-dir runs/lstm-... --model-dir runs/feedforward-...
    # serving lstm-..., feedforward-... on http://127.0.0.1:8000 (Ctrl-C stops)

Endpoints:

    GET  /health   {"status": "ok", "models": [{"name": "lstm-...", "recipe": "lstm", ...}, ...]}
    POST /tag      {"sentences": ["leave taipei on november 2nd"], "model": "lstm-..."}
                   -> {"model": "lstm-...", "results": [{"words": [...], "tags": [...], "slots": {...},
                                                         "intent": "atis_flight", "intent_confidence": 0.99}]}
    GET  /         a page with a text box: each word in its slot's colour, and the intent,
                   one column per loaded model

`"model"` is optional (the first `--model-dir` answers); `"pretokenized": true`
splits the sentences on white space only, as `recipes.predict --pretokenized`.
A model is named after its run folder. A request may hold at most 64
sentences of at most 1,000 characters and 128 words each, in a body of at
most 64 KiB. A bad request gets a 4xx answer `{"error": "<one line>"}`
(400 for a body that is not JSON, 413 for one over the size limit, 422 for
one that is JSON but not a request, 404/405 for a wrong path or method), and
the service goes on serving. Requests that arrive together are tagged in one
batched model call. The service listens on 127.0.0.1 unless `--host` says otherwise.
`--engine onnx` serves each run folder's ONNX export (`python -m recipes.export
--model-dir RUN` first) through onnxruntime instead of `model.keras`: the same
answers, without Keras's per-call cost.
"""

import argparse
import asyncio
import contextlib
import json
import socket
from pathlib import Path

import fastapi
import uvicorn
from fastapi.responses import HTMLResponse, JSONResponse
from starlette.exceptions import HTTPException

from data.command_line import Parser, exit_on_errors, one_line
from recipes.config.compile_cache import COMPILE_CACHE, COMPILE_CACHE_HELP, use_compile_cache
from recipes.config.errors import EXIT_CODES, UsageError
from recipes.config.flags import batch_size, describe, port_number, positive_int
from recipes.inference.serving import BadRequest, BatchQueue, Limits, parse_request, warm_up_shapes, words_of
from recipes.predict import ENGINE_HELP, ENGINES, load_tagger

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
        words = words_of(parsed, taggers[parsed.model].encoder, limits)
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


def main(argv=None):
    prog = "python -m recipes.serve"
    parser = Parser(prog=prog, description=describe(__doc__))
    parser.add_argument(
        "--model-dir", action="append", required=True, help="a run folder written by a recipe (repeat for more)"
    )
    parser.add_argument("--host", default="127.0.0.1", help="the address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=port_number, default=8000, help="the port (0: any free one, printed)")
    parser.add_argument("--batch-size", type=batch_size, default=64, help="sentences per model batch")
    parser.add_argument(
        "--max-batch-sentences",
        type=positive_int,
        default=256,
        help="most sentences of concurrent requests tagged in one model call",
    )
    parser.add_argument(
        "--engine",
        choices=ENGINES,
        default="keras",
        help=f"what tags: {ENGINE_HELP}; ONNX runs the recurrent layers as onnxruntime's own kernels, "
        "several times faster than Keras for small batches on a CPU",
    )
    parser.add_argument("--access-log", action="store_true", help="log every request (off: it costs throughput)")
    parser.add_argument(
        "--warm-up",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="compile the model call of every batch shape in the background once serving (one-sentence "
        "batches first), so that later requests never wait for a compile; /health says when it is done "
        "(--engine onnx compiles nothing: no warm-up)",
    )
    parser.add_argument(
        "--compile-cache",
        default=str(COMPILE_CACHE),
        help=COMPILE_CACHE_HELP,
    )
    args = parser.parse_args(argv)
    with exit_on_errors(prog, EXIT_CODES):
        use_compile_cache(args.compile_cache)
        names = model_names(args.model_dir)
        taggers = {name: load_tagger(folder, args.engine) for name, folder in zip(names, args.model_dir)}
        warm_up = args.warm_up and args.engine == "keras"
        app = create_app(
            taggers,
            dict(zip(names, args.model_dir)),
            max_batch_sentences=args.max_batch_sentences,
            batch_size=args.batch_size,
            warm_up=warm_up,
        )
        sock = bind(args.host, args.port)
    host, port = sock.getsockname()[:2]
    shown = f"[{host}]" if ":" in host else host
    config = uvicorn.Config(app, log_level="warning", access_log=args.access_log, lifespan="on")
    server = uvicorn.Server(config)

    async def serve_and_say_so():
        # The line comes once the server has started (and handles Ctrl-C itself), so
        # whoever waits for it can send requests, or an interrupt, at once.
        serving = asyncio.create_task(server.serve(sockets=[sock]))
        while not server.started and not serving.done():
            await asyncio.sleep(0.02)
        if server.started:
            print(f"serving {', '.join(names)} on http://{shown}:{port} (Ctrl-C stops)", flush=True)
            if warm_up:
                print("compiling every batch shape in the background (GET /health counts them)", flush=True)
        await serving

    # uvicorn shuts down on Ctrl-C, then raises the interrupt again for whoever called it.
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve_and_say_so())


if __name__ == "__main__":
    main()
