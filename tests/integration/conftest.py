"""Fixtures of the integration tests: a scriptable SMTP server on loopback."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.integration.smtp_server import ScriptedSmtpServer


@pytest.fixture
def smtp_server() -> Iterator[ScriptedSmtpServer]:
    """A real SMTP server (aiosmtpd) on 127.0.0.1 whose answers a test can script."""
    with ScriptedSmtpServer() as server:
        yield server
