"""Issue 12, item 3, in the browser: a fresh panel's setup form refuses without
the setup token (and with a wrong one), says where to find it, and makes the
first admin with it; the token is spent once an admin exists.

Runs first among the browser tests (tests/browser/conftest.py), against the
shared fresh panel; the dashboard story then logs in as the admin made here."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.support.browser import ADMIN, PASSWORD, fill_setup, setup_token

pytestmark = pytest.mark.browser


@pytest.fixture
def page(panel, browser):
    context = browser.new_context(viewport={"width": 1280, "height": 860})
    context.set_default_timeout(30_000)
    try:
        yield context.new_page()
    finally:
        context.close()


def _admins(panel) -> list[str]:
    return [u["name"] for u in panel.cli.json("user", "list") if u["role"] == "admin"]


def test_setup_refuses_without_the_token_then_makes_the_admin_with_it(panel, page, screens):
    # tests/browser/conftest.py runs this module first, on the fresh panel
    assert _admins(panel) == [], "an admin exists already: this test must run first"
    token = setup_token(panel.home)
    assert panel.cli.ok("setup-token").strip() == token  # shown again on the panel host
    page.goto(panel.url + "/")
    expect(page.locator("#setup-form")).to_be_visible()
    assert token not in page.content()
    for given, said in (("", "is needed"), ("not-the-token", "is wrong")):
        page.fill("#field-setup_token", given)
        page.fill("#field-username", "mallory")
        page.fill("#field-password", "mallory-password")
        page.fill("#field-confirm", "mallory-password")
        page.evaluate("document.querySelector('#field-setup_token').required = false")
        page.locator("#setup-form button[type=submit]").click()
        expect(page.locator("#auth-error")).to_contain_text(f"The setup token {said}")
        expect(page.locator("#auth-error")).to_contain_text("rxpanel setup-token")
        expect(page.locator("#setup-form")).to_be_visible()
    page.screenshot(path=str(screens / "00-setup-refused.png"))
    assert _admins(panel) == []
    refused = [e for e in panel.cli.json("audit", "--action", "setup") if e["outcome"] == "refused"]
    assert len(refused) == 2 and all(token not in e["detail"] for e in refused)

    fill_setup(page, panel.home)
    expect(page.locator("#user-menu")).to_have_text(ADMIN)
    assert _admins(panel) == [ADMIN]
    assert not (panel.home / "setup-token").exists()
    r = panel.cli("setup-token")
    assert r.returncode != 0 and "admin exists" in r.stderr


def test_once_an_admin_exists_there_is_no_setup_form(panel, browser):
    assert _admins(panel) == [ADMIN], "the setup test before this one made no admin"
    context = browser.new_context()
    try:
        page = context.new_page()
        page.goto(panel.url + "/")
        expect(page.locator("#login-form")).to_be_visible(timeout=30_000)
        assert page.locator("#setup-form").count() == 0
        page.fill("#field-username", ADMIN)
        page.fill("#field-password", PASSWORD)
        page.locator("#login-form button[type=submit]").click()
        expect(page.locator("#user-menu")).to_have_text(ADMIN)
    finally:
        context.close()
