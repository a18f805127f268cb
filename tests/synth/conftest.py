"""Fixtures of the generation engine's tests."""

from __future__ import annotations

import pytest

from tests.synth.batch_server import KEY, BatchServer, answers, make_teacher


@pytest.fixture
def batch_loopback(demo_config, settings):
    """Start a loopback batch server for a provider, with a teacher using it; stopped after the test."""
    settings.TEACHER_API_KEYS = {"LOOPBACK_API_KEY": KEY}
    settings.BATCH_POLL_SECONDS = 0  # the tests play the poll task's part, without waiting
    servers = []

    def start(provider: str, special: dict | None = None, **options):
        server = BatchServer(answers(provider, special), **options)
        server.start()
        servers.append(server)
        return make_teacher(provider, server), server

    yield start
    for server in servers:
        server.stop()
