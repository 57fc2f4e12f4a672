"""The team admin portal in headless Chromium: users and roles, API tokens shown
once, what a viewer sees (and what happens when a viewer forces a deploy), the
audit log with its filters, changing one's own password, disabling a user.

Runs after tests/browser/test_dashboard.py against the same panel: its admin
logs in, and its app is the one a viewer tries to deploy. (Run alone, the module
does the first run and adds a stand-in app itself.)"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.browser.test_dashboard import ADMIN, APP, PASSWORD
from tests.conftest import SAMPLE_APP, free_port
from tests.support.browser import fill_setup

pytestmark = pytest.mark.browser

VIEWER, VIEWER_PASSWORD, VIEWER_NEW_PASSWORD = "vera", "viewer-pass-1", "viewer-pass-2"
DEPLOYER, DEPLOYER_PASSWORD, DEPLOYER_RESET = "dirk", "deployer-pass-1", "deployer-reset-9"
BULK = 130  # audit entries of one actor, more than one page of the audit log (100)
TOAST = "[data-sonner-toast]"


class Team:
    def __init__(self, panel, browser, screens: Path):
        self.panel, self.browser, self.screens = panel, browser, screens
        self.cli = panel.cli
        self.contexts = []
        self.admin = self.new_page()
        self.viewer: Page | None = None  # the viewer's page, logged in

    def new_page(self, width: int = 1280) -> Page:
        context = self.browser.new_context(viewport={"width": width, "height": 860})
        context.set_default_timeout(15_000)
        self.contexts.append(context)
        return context.new_page()

    def go(self, page: Page, path: str) -> None:
        page.goto(self.panel.url + path)

    def login(self, page: Page, user: str, password: str, path: str = "/") -> None:
        self.go(page, path)
        form = page.locator("#login-form")
        expect(form).to_be_visible(timeout=30_000)
        page.fill("#field-username", user)
        page.fill("#field-password", password)
        form.locator("button[type=submit]").click()
        expect(page.locator("#user-menu")).to_have_text(user)

    def logout(self, page: Page) -> None:
        page.locator("#user-menu").click()
        page.locator("#logout").click()
        expect(page.locator("#login-form")).to_be_visible()

    def shot(self, name: str, page: Page) -> None:
        page.evaluate("window.scrollTo(0, 0)")
        page.screenshot(
            path=str(self.screens / f"{name}.png"), full_page=True, animations="disabled"
        )

    def whoami(self, token: str) -> httpx.Response:
        return httpx.get(
            f"{self.panel.url}/api/v1/whoami",
            headers={"Authorization": f"Bearer {token}"},
            timeout=10,
        )

    def audit(self, **filters: str) -> list[dict]:
        args = [f"--{k}={v}" for k, v in filters.items()]
        return self.cli.json("audit", *args, "--limit", "1000")

    def user(self, name: str) -> dict:
        (found,) = [u for u in self.cli.json("user", "list") if u["name"] == name]
        return found

    def close(self) -> None:
        for context in self.contexts:
            context.close()


def _user_row(page: Page, name: str):
    return page.locator("#users-table tbody tr").filter(has=page.get_by_text(name, exact=True))


def _choose(page: Page, trigger: str, option: str) -> None:
    """Pick an option of a Radix select by its trigger's id."""
    page.locator(trigger).click()
    page.get_by_role("option", name=option, exact=True).click()


@pytest.fixture(scope="module")
def team(panel, browser, screens, request):
    t = Team(panel, browser, screens)
    try:
        _make_ready(t, request)
        yield t
    finally:
        t.close()


def _make_ready(t: Team, request) -> None:
    """After the dashboard story: nothing to do. Alone: do its first run, and add a
    stand-in app (never deployed) for the viewer to try."""
    page = t.admin
    t.go(page, "/")
    expect(page.locator("#setup-form, #login-form")).to_be_visible(timeout=30_000)
    if page.locator("#setup-form").count():
        fill_setup(page, t.panel.home)
        expect(page.locator("#user-menu")).to_have_text(ADMIN)
        t.logout(page)
    if not any(a["name"] == APP for a in t.cli.json("app", "list")):
        server = request.getfixturevalue("sandbox_server")
        t.cli.ok(
            "app", "add", APP, "--server", server, "--source", str(SAMPLE_APP),
            "--url", f"http://127.0.0.1:{free_port()}",
        )  # fmt: skip


def test_the_admin_adds_users_and_changes_a_role(team):
    page = team.admin
    team.login(page, ADMIN, PASSWORD, "/users")
    for link in ("Users", "Audit", "Tokens"):
        expect(page.get_by_role("link", name=link, exact=True)).to_be_visible()
    table = page.locator("#users-table")
    expect(_user_row(page, ADMIN)).to_contain_text("enabled")
    expect(page.locator(f"#role-{ADMIN}")).to_have_text("admin")

    for name, password, role in (
        (VIEWER, VIEWER_PASSWORD, "viewer"),
        (DEPLOYER, DEPLOYER_PASSWORD, "viewer"),  # made a deployer below, from the table
    ):
        page.locator("#add-user").click()
        form = page.locator("#user-form")
        expect(form).to_be_visible()
        page.fill("#field-username", name)
        page.fill("#field-initial_password", password)
        expect(page.locator("#field-role")).to_have_text("viewer")  # the default
        _choose(page, "#field-role", role)
        if name == VIEWER:
            team.shot("team-02-add-user", page)
        page.locator("#save-user").click()
        expect(form).to_have_count(0)
        expect(_user_row(page, name)).to_contain_text("never")  # no login yet
        expect(page.locator(f"#role-{name}")).to_have_text(role)
        expect(page.locator(TOAST, has_text=f"User {name} added")).to_be_visible()

    # refusals are shown in the dialog: a taken name, a short password
    page.locator("#add-user").click()
    form = page.locator("#user-form")
    page.fill("#field-username", VIEWER)
    page.fill("#field-initial_password", "long-enough-1")
    page.locator("#save-user").click()
    expect(form.locator(".form-error")).to_contain_text("already exists")
    page.fill("#field-username", "newcomer")
    page.fill("#field-initial_password", "short")
    page.locator("#save-user").click()
    expect(form.locator(".form-error")).to_contain_text("at least 8 characters")
    page.keyboard.press("Escape")
    expect(form).to_have_count(0)
    assert "newcomer" not in [u["name"] for u in team.cli.json("user", "list")]

    # a role changed from the table
    _choose(page, f"#role-{DEPLOYER}", "deployer")
    expect(page.locator(TOAST, has_text=f"{DEPLOYER}: role deployer")).to_be_visible()
    expect(page.locator(f"#role-{DEPLOYER}")).to_have_text("deployer")
    assert team.user(DEPLOYER)["role"] == "deployer"

    # the last admin stays an admin: the refusal is shown, nothing changes
    _choose(page, f"#role-{ADMIN}", "viewer")
    expect(page.locator("#users-error")).to_contain_text("last admin")
    expect(page.locator(f"#role-{ADMIN}")).to_have_text("admin")
    assert team.user(ADMIN)["role"] == "admin"
    expect(table).to_be_visible()
    team.shot("team-01-users", page)

    added = team.audit(action="user.", actor=ADMIN)
    facts = {(e["action"], e["target"], e["outcome"], e["detail"]) for e in added}
    assert ("user.add", f"user:{VIEWER}", "ok", "role viewer") in facts
    assert ("user.add", f"user:{DEPLOYER}", "ok", "role viewer") in facts
    assert ("user.update", f"user:{DEPLOYER}", "ok", "role deployer") in facts
    assert any(
        a == "user.update" and o == "refused" and t == f"user:{ADMIN}" for a, t, o, _ in facts
    )
    text = str(added)
    assert VIEWER_PASSWORD not in text and DEPLOYER_PASSWORD not in text


def test_a_token_is_shown_once_works_and_is_revoked(team):
    page = team.admin
    page.get_by_role("link", name="Tokens", exact=True).click()
    expect(page).to_have_url(re.compile(r"/tokens/?$"))
    expect(page.get_by_role("heading", name="API tokens")).to_be_visible()
    page.locator("#new-token").click()
    form = page.locator("#token-form")
    expect(form).to_be_visible()
    page.fill("#field-token_name", "ci deploys")
    page.locator("#field-scope").click()
    expect(page.get_by_role("option")).to_have_count(3)  # an admin may give any scope
    page.get_by_role("option", name="deploy", exact=True).click()
    page.fill("#field-expires_days", "30")
    page.locator("#issue-token").click()

    shown = page.locator("#issued-token")
    expect(shown).to_have_text(re.compile(r"^rxp_\S{20,}$"))
    expect(page.locator("#token-once")).to_contain_text("shown once; it is not stored")
    token = shown.inner_text()
    team.shot("team-03-token-once", page)
    assert team.whoami(token).json() == {"user": ADMIN, "role": "deployer"}

    page.locator("#token-done").click()
    expect(shown).to_have_count(0)
    assert token not in page.content()
    page.reload()  # a lingering value would come back with the state
    row = page.locator("#tokens-table tbody tr", has_text="ci deploys")
    expect(row).to_contain_text(token[:10] + "…")
    expect(row).to_contain_text("deploy")
    expect(row).to_contain_text(ADMIN)  # the owner column, for an admin
    expect(row).to_contain_text("active")
    assert token not in page.content()
    team.shot("team-04-tokens", page)

    row.locator(".revoke-token").click()
    dialog = page.get_by_role("alertdialog")
    expect(dialog).to_contain_text(token[:10])
    dialog.get_by_role("button", name="Revoke").click()
    expect(row).to_contain_text("revoked")
    expect(row.locator(".revoke-token")).to_have_count(0)
    refused = team.whoami(token)
    assert refused.status_code == 401, refused.text

    issued = team.audit(action="token.", actor=ADMIN)
    assert {e["action"] for e in issued} >= {"token.issue", "token.revoke"}
    assert all(token not in e["detail"] and token not in e["target"] for e in issued)
    assert any(token[:10] in e["detail"] and "deploy" in e["detail"] for e in issued)


def test_a_viewer_sees_what_they_may_not_do(team):
    page = team.new_page()
    team.viewer = page
    team.login(page, VIEWER, VIEWER_PASSWORD)
    expect(page.get_by_role("link", name="Tokens", exact=True)).to_be_visible()
    expect(page.get_by_role("link", name="Users", exact=True)).to_have_count(0)
    expect(page.get_by_role("link", name="Audit", exact=True)).to_have_count(0)

    for path in ("/users", "/audit"):
        team.go(page, path)
        expect(page.locator("#admins-only")).to_contain_text("Admins only")
        expect(page.locator("#users-table, #audit-table")).to_have_count(0)
        assert DEPLOYER not in page.inner_text("body")
    team.shot("team-06-viewer-admins-only", page)

    # the phone menu has no admin pages either
    phone = team.new_page(width=390)
    team.login(phone, VIEWER, VIEWER_PASSWORD)
    phone.locator("#mobile-menu").click()
    menu = phone.get_by_role("menu")
    expect(menu.get_by_role("link", name="Tokens")).to_be_visible()
    expect(menu.get_by_role("link", name="Users")).to_have_count(0)
    expect(menu.get_by_role("link", name="Audit")).to_have_count(0)
    phone.keyboard.press("Escape")

    # a viewer's token can only read
    team.go(page, "/tokens")
    expect(page.locator("#no-tokens")).to_be_visible()
    page.locator("#new-token").click()
    page.locator("#field-scope").click()
    expect(page.get_by_role("option")).to_have_count(1)
    expect(page.get_by_role("option")).to_have_text("read")
    page.keyboard.press("Escape")
    expect(page.get_by_role("option")).to_have_count(0)
    page.locator("#token-form").get_by_role("button", name="Cancel").click()
    expect(page.locator("#token-form")).to_have_count(0)

    team.go(page, f"/apps/{APP}")
    expect(page.get_by_role("heading", name=APP)).to_be_visible()
    deploy = page.locator("#deploy")
    expect(deploy).to_be_visible()
    expect(deploy).to_be_disabled()
    expect(page.locator("#deploy-note")).to_contain_text("viewers cannot deploy")
    expect(page.locator(".rollback-button")).to_have_count(0)
    team.shot("team-05-viewer-app", page)

    # force it: enable the button in the page and press it; the server refuses
    before = team.cli.json("deployments", APP)
    page.evaluate(
        """() => {
            for (const el of document.querySelectorAll('#deploy, #deploy-ref'))
                el.removeAttribute('disabled');
        }"""
    )
    expect(deploy).to_be_enabled()
    deploy.click()
    expect(
        page.locator(TOAST, has_text="Your role (viewer) may not do this: it needs deployer")
    ).to_be_visible()
    assert team.cli.json("deployments", APP) == before
    (refused,) = team.audit(actor=VIEWER, action="ui.deploy")
    assert (refused["outcome"], refused["target"]) == ("refused", f"/apps/{APP}")


def test_the_audit_log_shows_the_refusal_and_filters(team):
    page = team.admin
    # more entries of one actor than a page holds, recorded as the services do
    script = (
        "from rxpanel.services import audit\n"
        f"for i in range({BULK}): audit.record('bulk-probe', 'probe.bulk', f'probe:{{i}}')\n"
    )
    subprocess.run([sys.executable, "-c", script], env=team.cli.env, check=True, timeout=120)

    page.get_by_role("link", name="Audit", exact=True).click()
    expect(page).to_have_url(re.compile(r"/audit/?$"))
    rows = page.locator("#audit-table tbody tr")
    expect(rows.first).to_be_visible()
    expect(rows).to_have_count(100)  # one page, newest first

    page.fill("#filter-actor", VIEWER)
    page.locator("#audit-filter").click()
    expect(rows.first).to_contain_text(VIEWER)
    count = rows.count()
    assert 0 < count < 100
    for i in range(count):
        assert rows.nth(i).locator("td").nth(1).inner_text() == VIEWER
    refused = rows.filter(has_text="ui.deploy")
    expect(refused).to_have_count(1)
    expect(refused).to_contain_text("refused")
    expect(refused).to_contain_text(f"/apps/{APP}")
    expect(refused).to_contain_text("needs deployer")
    expect(page.locator("#load-more")).to_have_count(0)
    team.shot("team-07-audit-viewer", page)

    # outcome and action prefix narrow it further
    _choose(page, "#filter-outcome", "refused")
    page.locator("#audit-filter").click()
    expect(rows.filter(has_text="login")).to_have_count(0)
    expect(rows.filter(has_text="ui.deploy")).to_have_count(1)
    page.fill("#filter-actor", "")
    _choose(page, "#filter-outcome", "any")
    page.fill("#filter-action", "user.add")
    page.locator("#audit-filter").click()
    expect(rows).to_have_count(2)  # the viewer and the deployer
    expect(rows.filter(has_text=f"user:{VIEWER}")).to_contain_text(ADMIN)

    # a page at a time
    page.fill("#filter-action", "")
    page.fill("#filter-actor", "bulk-probe")
    page.locator("#audit-filter").click()
    expect(rows).to_have_count(100)
    expect(rows.first).to_contain_text(f"probe:{BULK - 1}")
    page.locator("#load-more").click()
    expect(rows).to_have_count(BULK)
    expect(rows.last).to_contain_text("probe:0")
    expect(page.locator("#load-more")).to_have_count(0)

    # Clear empties the filters
    page.locator("#audit-clear").click()
    expect(page.locator("#filter-actor")).to_have_value("")
    expect(rows).to_have_count(100)


def test_a_viewer_changes_their_password(team):
    page = team.viewer
    team.go(page, "/")
    page.locator("#user-menu").click()
    page.locator("#change-password").click()
    form = page.locator("#password-form")
    expect(form).to_be_visible()
    page.fill("#field-current_password", "not-my-password")
    page.fill("#field-new_password", VIEWER_NEW_PASSWORD)
    page.fill("#field-confirm_password", VIEWER_NEW_PASSWORD)
    page.locator("#save-password").click()
    expect(form.locator(".form-error")).to_contain_text("current password is wrong")
    page.fill("#field-current_password", VIEWER_PASSWORD)
    page.fill("#field-confirm_password", VIEWER_NEW_PASSWORD + "x")
    page.locator("#save-password").click()
    expect(form.locator(".form-error")).to_contain_text("differ")
    page.fill("#field-confirm_password", VIEWER_NEW_PASSWORD)
    team.shot("team-08-password-dialog", page)
    page.locator("#save-password").click()
    expect(form).to_have_count(0)
    expect(page.locator(TOAST, has_text="Password changed")).to_be_visible()

    team.logout(page)
    page.fill("#field-username", VIEWER)
    page.fill("#field-password", VIEWER_PASSWORD)
    page.locator("#login-form button[type=submit]").click()
    expect(page.locator("#auth-error")).to_have_text("Wrong user name or password.")
    page.fill("#field-password", VIEWER_NEW_PASSWORD)
    page.locator("#login-form button[type=submit]").click()
    expect(page.locator("#user-menu")).to_have_text(VIEWER)

    changed = team.audit(actor=VIEWER, action="user.password")
    assert [e["outcome"] for e in changed] == ["ok", "failed"]  # newest first
    assert all(
        p not in str(changed) for p in (VIEWER_PASSWORD, VIEWER_NEW_PASSWORD, "not-my-password")
    )


def test_a_reset_then_disabled_user_is_logged_out(team):
    page = team.admin
    team.go(page, "/users")
    row = _user_row(page, DEPLOYER)
    row.get_by_role("button", name="Reset password").click()
    form = page.locator("#reset-form")
    expect(page.get_by_role("dialog")).to_contain_text(f"Reset the password of {DEPLOYER}")
    page.fill("#field-reset_password", DEPLOYER_RESET)
    page.fill("#field-reset_confirm", DEPLOYER_RESET + "x")
    page.locator("#save-reset").click()
    expect(form.locator(".form-error")).to_contain_text("differ")
    page.fill("#field-reset_confirm", DEPLOYER_RESET)
    page.locator("#save-reset").click()
    expect(form).to_have_count(0)

    deployer = team.new_page()
    team.login(deployer, DEPLOYER, DEPLOYER_RESET, f"/apps/{APP}")
    expect(deployer.locator("#deploy")).to_be_enabled()
    expect(deployer.locator("#deploy-note")).to_have_count(0)
    team.go(page, "/users")
    expect(row).not_to_contain_text("never")  # the last login is shown

    row.get_by_role("button", name="Disable").click()
    dialog = page.get_by_role("alertdialog")
    expect(dialog).to_contain_text(DEPLOYER)
    dialog.get_by_role("button", name="Disable").click()
    expect(row).to_contain_text("disabled")
    assert team.user(DEPLOYER)["disabled"] is True

    deployer.reload()
    expect(deployer.locator("#login-form")).to_be_visible()
    expect(deployer.locator("#deploy")).to_have_count(0)
    deployer.fill("#field-username", DEPLOYER)
    deployer.fill("#field-password", DEPLOYER_RESET)
    deployer.locator("#login-form button[type=submit]").click()
    expect(deployer.locator("#auth-error")).to_have_text("Wrong user name or password.")

    row.get_by_role("button", name="Enable").click()
    page.get_by_role("alertdialog").get_by_role("button", name="Enable").click()
    expect(row).to_contain_text("enabled")
    details = [e["detail"] for e in team.audit(actor=ADMIN, target=f"user:{DEPLOYER}")]
    assert {"password reset", "disabled", "enabled"} <= set(details)
    assert DEPLOYER_RESET not in str(details)
