"""Running the web server and task workers side by side until a stop signal, for `demo` and `serve`.

A process that stops on its own is started again (a worker that died must not take the web server
down with it); one that keeps stopping is a configuration problem, so after too many restarts in a
short time everything stops with a message saying which process and how to see why.
"""

from __future__ import annotations

import signal
import subprocess
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field


def _stop(signum, frame) -> None:
    raise KeyboardInterrupt  # every stop signal stops the group the way Ctrl-C does


@dataclass
class _Child:
    name: str
    command: list[str]
    process: subprocess.Popen | None = None
    restarts: deque[float] = field(default_factory=deque)

    def start(self) -> None:
        self.process = subprocess.Popen(self.command)  # noqa: S603 (our own commands)


def run_together(
    commands: Sequence[tuple[str, Sequence[str]]],
    *,
    say: Callable[[str], None],
    ready: str = "",
    max_restarts: int = 5,
    restart_window: float = 60.0,
) -> int:
    """Start every (name, command), restart any that stops on its own, until a stop signal.

    Returns 0 after a stop signal, 1 when a process stopped more than `max_restarts` times within
    `restart_window` seconds (then every other one is stopped too). Stopping is graceful (SIGTERM,
    then SIGKILL after 10 s): a task worker finishes its current task step and a web server its
    current requests.
    """
    children = [_Child(name, list(command)) for name, command in commands]
    for child in children:
        child.start()
    if ready:
        say(ready)
    for stop_signal in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(stop_signal, _stop)
    status = 0
    try:
        while status == 0:
            time.sleep(0.5)
            for child in children:
                code = child.process.poll()
                if code is None:
                    continue
                now = time.monotonic()
                while child.restarts and now - child.restarts[0] > restart_window:
                    child.restarts.popleft()
                if len(child.restarts) >= max_restarts:
                    say(
                        f"The {child.name} stopped {len(child.restarts) + 1} times within "
                        f"{restart_window:.0f} s (last exit status {code}); stopping the others. "
                        "Its output above says why."
                    )
                    status = 1
                    break
                child.restarts.append(now)
                say(f"The {child.name} stopped on its own (exit status {code}); starting it again.")
                child.start()
    except KeyboardInterrupt:
        say("\nStopping…")
    finally:
        for child in children:
            if child.process.poll() is None:
                child.process.terminate()
        for child in children:
            try:
                child.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                child.process.kill()
    say("Stopped.")
    return status
