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

import uvicorn

from data.command_line import Parser, command
from recipes.config.arguments import batch_size, port_number, positive_int
from recipes.config.compile_cache import COMPILE_CACHE, COMPILE_CACHE_HELP, use_compile_cache
from recipes.config.flags import describe
from recipes.inference.service import bind, create_app, model_names
from recipes.inference.tagger import ENGINE_HELP, ENGINES, load_tagger

PROG = "python -m recipes.serve"


@command(PROG)
def main(argv=None):
    parser = Parser(prog=PROG, description=describe(__doc__))
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
