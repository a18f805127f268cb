"""Running the web server and task workers side by side until a stop signal, for `demo` and `serve`."""

from __future__ import annotations

import signal
import subprocess
import time
from collections.abc import Callable, Sequence


def _stop(signum, frame) -> None:
    raise KeyboardInterrupt  # every stop signal stops the group the way Ctrl-C does


def run_together(commands: Sequence[Sequence[str]], *, say: Callable[[str], None], ready: str = "") -> None:
    """Start every command, wait until a stop signal or until one of them exits, then stop them all.

    Stopping is graceful (SIGTERM, then SIGKILL after 10 s): a task worker finishes its current task
    step and a web server its current requests.
    """
    processes = [subprocess.Popen(list(command)) for command in commands]  # noqa: S603 (our own commands)
    if ready:
        say(ready)
    for stop_signal in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(stop_signal, _stop)
    try:
        while all(p.poll() is None for p in processes):
            time.sleep(0.5)
        say("A process stopped on its own; stopping the others.")
    except KeyboardInterrupt:
        say("\nStopping…")
    finally:
        for process in processes:
            if process.poll() is None:
                process.terminate()
        for process in processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
    say("Stopped.")
