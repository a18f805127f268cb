"""A rate limiter that keeps a teacher's calls under both its requests- and tokens-per-minute limits.

Written here rather than taken from a library: aiolimiter (the well-kept asyncio choice) limits one
quantity per limiter and cannot give back tokens, while a TPM limit needs a token estimate taken
before the call and corrected once the reply reports actual usage. Two small token buckets behind
one lock do both.

Each bucket holds at most `burst` units and refills at `(limit - burst) / period`: in any window of
one period the limiter lets through at most `burst + rate · period = limit`, so a provider counting
over a sliding minute never sees the limit exceeded, while the steady rate stays within a few per
cent of it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

BURST_SHARE = 0.03  # share of the limit that may go out at once; the rest is spread evenly


class TokenBucket:
    def __init__(self, limit: float, period: float, clock: Callable[[], float]) -> None:
        self.capacity = max(1.0, limit * BURST_SHARE)
        self.rate = max(limit - self.capacity, limit * 0.5) / period
        self.level = self.capacity
        self._clock = clock
        self._updated = clock()

    def refill(self) -> None:
        now = self._clock()
        self.level = min(self.capacity, self.level + (now - self._updated) * self.rate)
        self._updated = now

    def wait_for(self, amount: float) -> float:
        """Seconds until `amount` may be taken (a request larger than the bucket waits for a full one)."""
        needed = min(amount, self.capacity)
        return max(0.0, (needed - self.level) / self.rate)

    def take(self, amount: float) -> None:
        self.level -= amount  # may go below zero: a large request is paid back before the next one


class RateLimiter:
    """Async limiter over requests and tokens per `period` seconds (60 for the providers' RPM/TPM)."""

    def __init__(
        self,
        *,
        requests_per_period: float | None,
        tokens_per_period: float | None,
        period: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._clock = clock
        self._requests = TokenBucket(requests_per_period, period, clock) if requests_per_period else None
        self._tokens = TokenBucket(tokens_per_period, period, clock) if tokens_per_period else None
        self._paused_until = 0.0
        self._lock = asyncio.Lock()  # first come, first served

    async def acquire(self, tokens: float = 0.0) -> None:
        async with self._lock:
            while True:
                wait = self._paused_until - self._clock()
                for bucket, amount in ((self._requests, 1.0), (self._tokens, tokens)):
                    if bucket is not None:
                        bucket.refill()
                        wait = max(wait, bucket.wait_for(amount))
                if wait <= 0:
                    break
                await asyncio.sleep(wait)
            if self._requests is not None:
                self._requests.take(1.0)
            if self._tokens is not None:
                self._tokens.take(tokens)

    def settle(self, *, estimated: float, actual: float) -> None:
        """Correct a call's token estimate once its actual usage is known."""
        if self._tokens is not None:
            self._tokens.refill()
            self._tokens.level = min(self._tokens.capacity, self._tokens.level + estimated - actual)

    def pause(self, seconds: float) -> None:
        """Hold every caller back, e.g. for a 429's Retry-After: the limit is shared, so is the wait."""
        self._paused_until = max(self._paused_until, self._clock() + seconds)
