"""Headless Chromium's settings, and the admin the browser story makes on a fresh panel
(the hostile suite logs in as that admin when the story ran first)."""

from __future__ import annotations

# Debian's Chromium: Playwright's own browser download does not work here
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

ADMIN = "ada"
PASSWORD = "correct-horse-battery"


def setup_token(home) -> str:
    """The one-time token a fresh panel keeps while no admin exists (services.setup)."""
    return (home / "setup-token").read_text().strip()


def fill_setup(page, home, username: str = ADMIN, password: str = PASSWORD) -> None:
    """Fill the first-run form with the panel's setup token and submit it."""
    page.fill("#field-setup_token", setup_token(home))
    page.fill("#field-username", username)
    page.fill("#field-password", password)
    page.fill("#field-confirm", password)
    page.locator("#setup-form button[type=submit]").click()
