"""A distributed search on this machine: a chief that hands out trials and workers that train them.

    run_distributed(argv, worker_count=2, project_dir=..., describe=describe_values, objective="val_slot_f1")

starts `python -m recipes.tune <argv> --serve-only` as the chief and `worker_count`
copies of `python -m recipes.tune <argv>` as workers, all talking to each other
over gRPC on 127.0.0.1 through keras-tuner's environment variables
(`KERASTUNER_ORACLE_IP`, `KERASTUNER_ORACLE_PORT`, `KERASTUNER_TUNER_ID`).
`argv` is the launcher's own command line without its launcher flags
(`command_line.launcher_free`). Their output goes to `<project_dir>/logs/`.
"""

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from recipes.config.errors import SearchFailed
from recipes.search.results import load_trials, write_tables

REPO_ROOT = Path(__file__).resolve().parents[2]


def free_port():
    """A TCP port free on 127.0.0.1 at this moment."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def stop_process(process, seconds=10):
    """Stops `process` (terminate, then kill after `seconds`); returns its exit code."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(seconds)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    return process.returncode


def run_distributed(argv, worker_count, project_dir, describe, objective="val_slot_f1"):
    """Starts a chief and `worker_count` workers on 127.0.0.1, prints trials as they
    end (`describe(values)` names a configuration, `objective` the score), and stops
    the chief once every worker has exited."""
    port = free_port()
    logs = project_dir / "logs"
    logs.mkdir(exist_ok=True)
    env = dict(os.environ, KERASTUNER_ORACLE_IP="127.0.0.1", KERASTUNER_ORACLE_PORT=str(port), PYTHONUNBUFFERED="1")
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")]))
    argv = [sys.executable, "-m", "recipes.tune", *argv]

    def start(tuner_id, extra=()):
        log = open(logs / f"{tuner_id}.log", "w", encoding="utf-8")
        with log:
            return subprocess.Popen(
                [*argv, *extra],
                env=dict(env, KERASTUNER_TUNER_ID=tuner_id),
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )

    chief = start("chief", ["--serve-only"])
    workers = {f"tuner{i}": start(f"tuner{i}") for i in range(worker_count)}
    print(f"chief and {worker_count} workers on 127.0.0.1:{port}; their output: {logs}/", flush=True)
    reported = {trial["trial_id"] for trial in load_trials(project_dir) if trial["status"] in ("COMPLETED", "FAILED")}
    try:
        while True:
            for trial in load_trials(project_dir):
                if trial["status"] in ("COMPLETED", "FAILED") and trial["trial_id"] not in reported:
                    reported.add(trial["trial_id"])
                    score = f"{objective} {trial['score']:.4f}" if trial["score"] is not None else trial["status"]
                    print(f"trial {trial['trial_id']}: {describe(trial['values'])}: {score}", flush=True)
            if all(worker.poll() is not None for worker in workers.values()):
                break
            if chief.poll() is not None:
                # Without the chief no worker can go on: give them a moment to finish, then stop them.
                deadline = time.monotonic() + 30
                while time.monotonic() < deadline and any(w.poll() is None for w in workers.values()):
                    time.sleep(0.5)
                break
            time.sleep(0.5)
    finally:
        # Every worker has asked for a trial after the last one, so the
        # oracle has saved everything: the chief can stop now instead of at
        # its next 20-second check.
        for worker in workers.values():
            stop_process(worker)
        chief_code = stop_process(chief)
    failed = [
        f"worker {name} exited with code {worker.returncode} (see {logs / (name + '.log')})"
        for name, worker in workers.items()
        if worker.returncode != 0
    ]
    if chief_code not in (0, -signal.SIGTERM):
        failed.append(f"the chief exited with code {chief_code} (see {logs / 'chief.log'})")
    if failed:
        write_tables(project_dir, load_trials(project_dir), objective=objective)
        raise SearchFailed("; ".join(failed))
