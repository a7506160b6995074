"""Fixtures for the page tests."""

from __future__ import annotations

import pytest

from tests.support.apptest import Downloads


@pytest.fixture
def downloads(monkeypatch) -> Downloads:
    """The files the download buttons of the test's AppTests hand a visitor."""
    return Downloads(monkeypatch)
