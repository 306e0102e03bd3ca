"""
Title: A screenshot of the service's page, for the README
Description: Serves run folders with `python -m recipes.serve`, types a sentence into the page in headless Chromium, saves a PNG.

    python -m benchmarks.page_screenshot --model-dir runs/lstm-... --model-dir runs/feedforward-... \\
        --sentence "i would like to arrive taipei on november 2nd" --output benchmarks/results/serve_page.png

Chromium is Debian's (`apt-get install chromium`), driven by Playwright; `--chromium` points elsewhere.
"""

import os
import tempfile

from benchmarks.reporting import REPO_ROOT, RESULTS_DIR
from benchmarks.serve_load import start_service
from data.command_line import Parser, UsageError, command
from recipes.config import arguments

PROG = "python -m benchmarks.page_screenshot"


@command(PROG)
def main(argv=None):
    parser = Parser(prog=PROG, description=__doc__.split("\n")[2])
    parser.add_argument("--model-dir", action="append", required=True, help="a run folder (repeat for more)")
    parser.add_argument("--sentence", default="i would like to arrive taipei on november 2nd", help="what to type")
    parser.add_argument("--output", default=str(RESULTS_DIR / "serve_page.png"), help="the PNG to write")
    parser.add_argument("--chromium", default="/usr/bin/chromium", help="the Chromium binary")
    parser.add_argument("--width", type=arguments.positive_int, default=1100, help="page width in pixels")
    args = parser.parse_args(argv)
    if not os.access(args.chromium, os.X_OK):
        raise UsageError(f"--chromium {args.chromium}: not found")
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryFile("w+") as log:
        process, port = start_service(args.model_dir, dict(os.environ, PYTHONPATH=str(REPO_ROOT)), log, warm_up=False)
        try:
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(
                    executable_path=args.chromium,
                    args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"],
                )
                page = browser.new_page(viewport={"width": args.width, "height": 400})
                page.goto(f"http://127.0.0.1:{port}/")
                page.wait_for_selector("body[data-ready]")
                page.fill("#sentence", args.sentence)
                page.click("#tag")
                page.wait_for_selector("body[data-tagged]")
                page.screenshot(path=args.output, full_page=True)
                browser.close()
        finally:
            process.terminate()
            process.wait(timeout=30)
    print(f"written: {args.output} ({os.path.getsize(args.output):,} bytes)")


if __name__ == "__main__":
    main()
