"""Scheduler layer fixtures: the fixture shop running, and no scheduler service left behind by a test."""
from __future__ import annotations

import pytest

from crawlers.fixture_sites import start_site
from tests.scheduler_env import LIVE, WAIT


@pytest.fixture(autouse=True)
def reap_services():
    """A failed assertion must not leave a scheduler (and its crawls) running: stop every service the test
    started (SIGKILL; their crawls follow through PDEATHSIG)."""
    yield
    while LIVE:
        service = LIVE.pop()
        if service.proc.poll() is None:
            service.proc.kill()
            service.proc.wait(timeout=WAIT)


@pytest.fixture(scope="module")
def shop():
    handle = start_site("shop", port=0)
    yield handle
    handle.stop()
