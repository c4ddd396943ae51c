"""Crawler layer fixtures: a store target on each backend and every fixture marketplace running."""
from __future__ import annotations

import pytest

from crawlers.fixture_sites import start_all
from tests.backends import BACKENDS, server_url
from tests.crawl_helpers import open_target


@pytest.fixture(params=BACKENDS)
def target(request, tmp_path):
    """A StoreTarget on each backend."""
    if request.param != "sqlite":
        server_url(request.param, request)
    t = open_target(request.param, tmp_path)
    yield t
    t.close()


@pytest.fixture(scope="module")
def fx():
    with start_all(options={"darkmarket": {"session_ttl": 600}}) as running:
        yield running
