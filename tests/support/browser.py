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
