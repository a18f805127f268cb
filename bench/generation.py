"""Benchmark: the project's dispatcher against naive asyncio.gather batches, on a rate-limited server.

A loopback server speaking OpenAI's Chat Completions wire format enforces a requests-per-minute and
a tokens-per-minute limit over a sliding window, answering 429 with Retry-After beyond them, with
long-tailed latency (log-normal, median 2 s, p99 10 s). Time is scaled down tenfold so the run takes
a couple of minutes: a "minute" lasts 6 s and the latency has median 0.2 s, p99 1 s. Both clients
drive the real OpenAI SDK through `OpenAITeacher`.

Printed, for each client: the achieved request rate as a fraction of the RPM limit (first to last
arrival), the token rate as a fraction of the TPM limit, and the share of requests answered 429.
Goal for the dispatcher: >= 0.90 of the limit with <= 1 % answered 429.

    .venv/bin/python bench/generation.py            # 600 calls per client (about 2 minutes)
    .venv/bin/python bench/generation.py --calls 200
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import random
import sys
import threading
import time
from collections import deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

from synth.teachers.base import Schema, TeacherError
from synth.teachers.dispatch import Call, Dispatcher, RetryPolicy
from synth.teachers.openai_provider import OpenAITeacher

SCALE = 10.0  # real seconds per benchmark second
PERIOD = 60.0 / SCALE  # one "minute"
RPM = 120  # requests per "minute": 20 per second
TPM = 30_000  # tokens per "minute": about 19 average requests per second, so both limits bite
MEDIAN, P99 = 2.0 / SCALE, 10.0 / SCALE
SIGMA = math.log(P99 / MEDIAN) / 2.326  # log-normal with that median and 99th percentile
SCHEMA = Schema("output", {"type": "object", "required": ["output"]})


class RateLimitedServer:
    """OpenAI-compatible; counts each request's prompt and completion tokens at arrival."""

    def __init__(self, seed: int = 1) -> None:
        self.rng = random.Random(seed)
        self.lock = threading.Lock()
        self.window: deque[tuple[float, int]] = deque()  # (arrival, tokens) of accepted requests
        self.accepted: list[tuple[float, int]] = []
        self.rejected = 0
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_port}/v1"
        threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True).start()

    def reset(self) -> None:
        with self.lock:
            self.window.clear()
            self.accepted.clear()
            self.rejected = 0

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def admit(self, prompt_tokens: int) -> tuple[bool, float, int, float]:
        with self.lock:
            now = time.monotonic()
            while self.window and self.window[0][0] <= now - PERIOD:
                self.window.popleft()
            completion = self.rng.randint(100, 300)
            tokens = prompt_tokens + completion
            used = sum(t for _, t in self.window)
            if len(self.window) + 1 > RPM or used + tokens > TPM:
                self.rejected += 1
                # Seconds until the oldest entries leave the window and make room.
                freed, wait = used + tokens - TPM, 0.0
                for arrival, spent in self.window:
                    wait = arrival + PERIOD - now
                    freed -= spent
                    if freed <= 0 and len(self.window) < RPM + 1:
                        break
                return False, max(0.05, wait), 0, 0.0
            self.window.append((now, tokens))
            self.accepted.append((now, tokens))
            return True, 0.0, completion, self.rng.lognormvariate(math.log(MEDIAN), SIGMA)

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers.get("content-length", 0))))
                prompt_tokens = sum(len(m["content"]) for m in body["messages"]) // 4
                ok, retry_after, completion, latency = server.admit(prompt_tokens)
                if not ok:
                    self._send(429, {"error": {"message": "Rate limit reached.", "type": "requests"}},
                               {"retry-after": f"{retry_after:.2f}"})  # fmt: skip
                    return
                time.sleep(latency)
                reply = {
                    "id": "chatcmpl-bench", "object": "chat.completion", "created": 0, "model": "bench",
                    "choices": [{"index": 0, "finish_reason": "stop", "logprobs": None,
                                 "message": {"role": "assistant", "content": '{"output": "ok"}', "refusal": None}}],
                    "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion,
                              "total_tokens": prompt_tokens + completion},
                }  # fmt: skip
                self._send(200, reply, {})

            def _send(self, status: int, payload: dict, headers: dict[str, str]) -> None:
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                for name, value in headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args) -> None:
                pass

        return Handler


def messages(n: int) -> list[dict[str, str]]:
    return [{"role": "user", "content": f"Question {n}: " + "name the first-line treatment of asthma. " * 5}]


def summary(name: str, server: RateLimitedServer, calls: int, failed: int) -> dict:
    arrivals = [t for t, _ in server.accepted]
    span = arrivals[-1] - arrivals[0]
    rate = (len(arrivals) - 1) / span  # requests per second
    tokens = sum(t for _, t in server.accepted[1:]) / span
    total = len(arrivals) + server.rejected
    result = {
        "client": name,
        "calls": calls,
        "failed": failed,
        "rpm_fraction": rate * PERIOD / RPM,
        "tpm_fraction": tokens * PERIOD / TPM,
        "share_429": server.rejected / total,
        "seconds": span,
    }
    print(
        f"{name:<34} {result['rpm_fraction']:.2f} of RPM  {result['tpm_fraction']:.2f} of TPM  "
        f"{100 * result['share_429']:5.2f} % answered 429  ({calls} calls, {failed} failed, {span:.1f} s)"
    )
    return result


def run_dispatcher(server: RateLimitedServer, calls: int) -> dict:
    server.reset()
    teacher = OpenAITeacher(model="bench", api_key="sk-bench-0123456789", base_url=server.url, timeout=30)
    with Dispatcher(
        teacher, concurrency=64, requests_per_minute=RPM, tokens_per_minute=TPM, period=PERIOD,
        policy=RetryPolicy(max_attempts=8, base_delay=0.1, max_delay=2.0), expected_output_tokens=200,
    ) as dispatcher:  # fmt: skip
        futures = [
            dispatcher.submit(Call(key=str(n), messages=messages(n), schema=SCHEMA)) for n in range(calls)
        ]
        failed = sum(1 for f in futures if not f.result().ok)
    return summary("project dispatcher", server, calls, failed)


def run_gather(server: RateLimitedServer, calls: int, batch: int) -> dict:
    """Fixed batches through asyncio.gather, each waiting for its slowest call; a 429 is retried
    after its Retry-After inside the batch (the usual naive loop)."""
    server.reset()
    teacher = OpenAITeacher(model="bench", api_key="sk-bench-0123456789", base_url=server.url, timeout=30)

    async def one(n: int) -> bool:
        for _ in range(8):
            try:
                await asyncio.to_thread(teacher.complete, messages(n), schema=SCHEMA)
                return True
            except TeacherError as error:
                await asyncio.sleep(error.retry_after or 0.5)
        return False

    async def main() -> int:
        failed = 0
        for start in range(0, calls, batch):
            results = await asyncio.gather(*(one(n) for n in range(start, min(calls, start + batch))))
            failed += results.count(False)
        return failed

    failed = asyncio.run(main())
    return summary(f"asyncio.gather, batches of {batch}", server, calls, failed)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--calls", type=int, default=600)
    args = parser.parse_args()
    print(
        f"Limits: {RPM} requests and {TPM:,} tokens per {PERIOD:g} s window (one scaled minute); "
        f"latency median {MEDIAN:g} s, p99 {P99:g} s."
    )
    server = RateLimitedServer()
    try:
        project = run_dispatcher(server, args.calls)
        # A naive client sends one (scaled) second's worth of requests per batch, or five seconds' worth.
        one_second = run_gather(server, args.calls, batch=RPM // 60)
        five_seconds = run_gather(server, args.calls, batch=5 * RPM // 60)
    finally:
        server.stop()
    for baseline in (one_second, five_seconds):
        print(
            f"dispatcher / {baseline['client']}: {project['rpm_fraction'] / baseline['rpm_fraction']:.1f}x the "
            "request rate"
        )
    goal = project["rpm_fraction"] >= 0.90 and project["share_429"] <= 0.01
    print(f"Goal (>= 0.90 of the limit, <= 1 % answered 429): {'met' if goal else 'NOT met'}")


if __name__ == "__main__":
    main()
