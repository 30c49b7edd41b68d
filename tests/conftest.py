"""Shared fixtures: the reference transcripts and the loopback server."""

from __future__ import annotations

from typing import Any
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, settings

# Shared, noisy machines: property tests are judged on results, never on speed.
settings.register_profile("claude_nb", deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("claude_nb")

@pytest.fixture(autouse=True)
def _no_real_api(monkeypatch: pytest.MonkeyPatch) -> None:
    """No test may reach the internet or use a real key."""
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    monkeypatch.delenv("ANTHROPIC_BASE_URL", raising=False)
    monkeypatch.delenv("CLAUDE_NB_BACKEND", raising=False)


@pytest.fixture
def server() -> Iterator[Any]:
    from claude_nb.loopback import LoopbackServer

    with LoopbackServer() as srv:
        yield srv


@pytest.fixture
def api(server: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    """Point claude_nb (and the SDK) at the loopback server with a test key."""
    monkeypatch.setenv("ANTHROPIC_BASE_URL", server.base_url)
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-test-SECRET-0123456789")
    return server


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Browser tests run last: Playwright's sync API keeps an event loop running on the main
    thread for the rest of the session, which `asyncio.run` in other tests can't share."""
    items.sort(key=lambda item: item.get_closest_marker("browser") is not None)


@pytest.fixture
def shell() -> Iterator[Any]:
    """A real terminal-style IPython shell with the extension loaded (no kernel)."""
    from IPython.core.interactiveshell import InteractiveShell

    sh = InteractiveShell.instance()
    sh.run_cell("%load_ext claude_nb")
    yield sh
    sh.run_cell("%unload_ext claude_nb")
    InteractiveShell.clear_instance()
