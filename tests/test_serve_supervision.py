"""`manage.py serve` starts again a process that stops on its own (a task worker killed with SIGKILL)
without touching the others, and gives up with a clear message and exit status 1 when one keeps
stopping."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

from tests.conftest import database_url_for_subprocess, wait_for

ROOT = Path(__file__).resolve().parent.parent


def start_serve(tmp_path: Path, settings, *options: str, workers: int = 2) -> tuple[subprocess.Popen, Path]:
    log = tmp_path / "serve.log"
    env = {
        **{k: v for k, v in os.environ.items() if k not in {"PRODUCTION", "DJANGO_ALLOW_ASYNC_UNSAFE"}},
        "DATABASE_URL": database_url_for_subprocess(),
        "EXPORT_ROOT": str(settings.EXPORT_ROOT),
        "DEBUG": "0",
    }
    command = [sys.executable, "manage.py", "serve", "--no-web", "--task-workers", str(workers), *options]
    with log.open("w") as output:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT)
    return process, log


def workers_of(pid: int) -> set[int]:
    """The `manage.py worker` processes `serve` started."""
    found = set()
    for entry in filter(str.isdigit, os.listdir("/proc")):
        try:
            stat = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
            command = Path(f"/proc/{entry}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if stat[1] == str(pid) and stat[0] != "Z" and b"worker" in command:
            found.add(int(entry))
    return found


def stop(process: subprocess.Popen) -> int:
    process.terminate()
    try:
        return process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        return process.wait()


def test_it_restarts_a_worker_that_died_and_keeps_the_others(transactional_db, settings, tmp_path):
    serve, log = start_serve(tmp_path, settings)
    try:
        wait_for(lambda: len(workers_of(serve.pid)) == 2, timeout=60)
        first, other = sorted(workers_of(serve.pid))
        os.kill(first, signal.SIGKILL)
        wait_for(lambda: len(workers_of(serve.pid) - {first}) == 2, timeout=60)
        assert other in workers_of(serve.pid)  # the other worker was left alone
        assert serve.poll() is None
    finally:
        status = stop(serve)
    output = log.read_text()
    assert re.search(r"The task worker \d stopped on its own \(exit status -9\); starting it again\.", output)
    assert status == 0 and "Stopped." in output


def test_it_stops_everything_with_a_message_when_a_process_keeps_stopping(
    transactional_db, settings, tmp_path
):
    serve, log = start_serve(tmp_path, settings, "--max-restarts", "1", "--restart-window", "300", workers=1)
    try:
        for _ in range(2):
            wait_for(lambda: len(workers_of(serve.pid)) == 1, timeout=60)
            os.kill(workers_of(serve.pid).pop(), signal.SIGKILL)
        status = serve.wait(timeout=60)
    finally:
        if serve.poll() is None:
            stop(serve)
    output = log.read_text()
    assert status == 1, output
    assert (
        "The task worker 1 stopped 2 times within 300 s (last exit status -9); stopping the others." in output
    )
    assert not workers_of(serve.pid)
