"""A fresh panel home (SQLite database, key file) per test."""

from __future__ import annotations

import pytest

from rxpanel import db, secrets, settings

CACHES = (settings.get, db.engine, secrets._fernet)


@pytest.fixture(autouse=True)
def no_drain(monkeypatch):
    """The deploys unit tests run do not wait out the cutover's drain (10 s by default)."""
    from rxpanel.deploy.steps import cutover

    monkeypatch.setattr(cutover, "wait", lambda seconds, cancel: None)


@pytest.fixture
def home(tmp_path, monkeypatch):
    """The panel's home, in the test's temp dir (not the temp dir itself: a test's
    repositories there are local sources, which may not be inside the home)."""
    tmp_path = tmp_path / "home"
    tmp_path.mkdir()
    monkeypatch.setenv("RXPANEL_HOME", str(tmp_path))
    monkeypatch.delenv("RXPANEL_DB_URL", raising=False)
    monkeypatch.delenv("RXPANEL_SECRET_KEY", raising=False)
    for cached in CACHES:
        cached.cache_clear()
    db.upgrade()
    yield tmp_path
    db.engine().dispose()
    for cached in CACHES:
        cached.cache_clear()
