"""Headless Chromium for the browser tests (the panel itself is the shared
`panel` fixture of tests/conftest.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import ARTIFACTS
from tests.support.browser import CHROMIUM, CHROMIUM_ARGS

SCREENS = ARTIFACTS / "screens"


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture(scope="session")
def screens() -> Path:
    """test-artifacts/screens/, emptied of the last run's pictures."""
    SCREENS.mkdir(parents=True, exist_ok=True)
    for old in SCREENS.glob("*.png"):
        old.unlink()
    return SCREENS


def pytest_collection_modifyitems(items):
    # the first admin's setup (with its token) runs first, on the fresh panel; the
    # access sweep runs last, when the stories have put real data in the panel
    items.sort(
        key=lambda item: {"test_first_admin.py": 0, "test_access.py": 2}.get(item.path.name, 1)
    )
