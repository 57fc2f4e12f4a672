"""The dashboard end to end, in headless Chromium: first run, login, a server
and an app added through the UI, deploys watched live, a rollback from the
releases table, a deploy from the CLI showing up on the open page, and env
values that never reach the browser.

The tests run in file order as one story against one panel (the `panel`
fixture) and the real sandbox server."""

from __future__ import annotations

import re
import sqlite3
import subprocess
import time
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from rxpanel.deploy.commands import Host, check
from tests.conftest import AppRepo, free_port, get, wait_for
from tests.support.browser import ADMIN, PASSWORD, fill_setup

pytestmark = pytest.mark.browser

APP = "webshop"
SECRET = "br0wser-s3cret-7f3a9c"
CHECK_ITEMS = len(check.items(Host()))  # one row per item of server check
FINAL = re.compile(r"^(success|failed|superseded|interrupted|cancelled)$")
COLD_BUILD = 300_000  # ms: the first deploy builds from scratch
DEPLOY = 180_000  # ms: later deploys reuse the workspace and the venvs


class Story:
    def __init__(self, panel, sandbox, repo: AppRepo, context, screens: Path):
        self.panel, self.sandbox, self.repo = panel, sandbox, repo
        self.context, self.screens = context, screens
        self.cli = panel.cli
        self.app_url = f"http://127.0.0.1:{free_port()}"
        self.page: Page = context.new_page()
        self.tab: Page | None = None  # the deployed app, in its own tab
        self.received: list[str] = []  # every websocket frame the panel sent the browser
        self.sent: list[str] = []  # frames the browser sent, once `watch_sent` is set
        self.watch_sent = False
        self.page.on("websocket", self._on_websocket)
        self.version_commits: dict[str, str] = {"v1": repo.head()}
        self.first_deploy = 0

    def _on_websocket(self, ws) -> None:
        ws.on("framereceived", lambda payload: self.received.append(_text(payload)))
        ws.on("framesent", lambda payload: self.watch_sent and self.sent.append(_text(payload)))

    def go(self, path: str) -> None:
        self.page.goto(self.panel.url + path)

    def shot(self, name: str, page: Page | None = None) -> None:
        page = page or self.page
        # from the top: a sticky navbar would otherwise be drawn mid-page
        page.evaluate("window.scrollTo(0, 0)")
        page.screenshot(
            path=str(self.screens / f"{name}.png"), full_page=True, animations="disabled"
        )

    def db(self) -> sqlite3.Connection:
        return sqlite3.connect(f"file:{self.panel.home / 'rxpanel.db'}?mode=ro", uri=True)

    def latest_deployment(self) -> int:
        with self.db() as db:
            (found,) = db.execute("select coalesce(max(id), 0) from deployment").fetchone()
        return found

    def live_id(self) -> int:
        href = self.page.locator("#live-deployment").get_attribute("href") or ""
        return int(href.rsplit("/", 1)[-1]) if href.rsplit("/", 1)[-1].isdigit() else 0

    def wait_new_deployment(self, before: int, timeout: float = 15_000) -> int:
        """The live card follows a deployment newer than `before`; its id."""
        link = self.page.locator("#live-deployment")
        expect(link).to_have_attribute("href", re.compile(r"/deployments/\d+$"), timeout=timeout)
        self.page.wait_for_function(
            """n => {
                const a = document.querySelector('#live-deployment');
                return a && Number(a.getAttribute('href').split('/').pop()) > n;
            }""",
            arg=before,
            timeout=timeout,
        )
        return self.live_id()

    def wait_outcome(self, dep_id: int, timeout: float) -> None:
        """The live card shows `dep_id` ending, and it ended well."""
        expect(self.page.locator("#live-deployment")).to_have_attribute(
            "href", f"/deployments/{dep_id}"
        )
        status = self.page.locator("#live-status")
        expect(status).to_have_text(FINAL, timeout=timeout)
        outcome = status.inner_text()
        assert outcome == "success", self.cli.ok("logs", str(dep_id))

    def serves(self, version: str) -> None:
        """The deployed app, opened through nginx in its own tab, shows `version`."""
        if self.tab is None:
            self.tab = self.context.new_page()
            self.tab.goto(self.app_url)
        else:
            self.tab.reload()
        expect(self.tab.locator("#version")).to_have_text(f"sample {version}", timeout=15_000)
        assert get(f"{self.app_url}/api/version").json()["version"] == version

    def release_of(self, version: str) -> str:
        commit = self.version_commits[version]
        (found,) = [r["id"] for r in self.cli.json("releases", APP) if r["commit"] == commit]
        return found

    def free_the_sandbox(self) -> None:
        """Later tests deploy to the same sandbox from backend port 8100 up: stop
        the app's programs, first telling the panel's health checks (the panel
        lives on for the session) not to roll it back when they find it down."""
        self.cli("app", "update", APP, "--no-auto-rollback", timeout=60)
        cmd = self.sandbox.supervisorctl_cmd.split()
        subprocess.run(
            [*cmd, "stop", f"rxpanel-{APP}-blue", f"rxpanel-{APP}-green"],
            capture_output=True,
            timeout=60,
        )


def _text(payload) -> str:
    return payload.decode(errors="replace") if isinstance(payload, bytes) else payload


@pytest.fixture(scope="module")
def story(panel, sandbox, browser, screens, tmp_path_factory):
    repo = AppRepo(tmp_path_factory.mktemp("browser-repo") / "sampleapp")
    context = browser.new_context(viewport={"width": 1280, "height": 860})
    context.set_default_timeout(15_000)
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=panel.url)
    s = Story(panel, sandbox, repo, context, screens)
    try:
        yield s
    finally:
        context.close()
        s.free_the_sandbox()


def test_first_run_creates_the_admin(story):
    page = story.page
    story.go("/")
    expect(page.locator("#setup-form, #login-form")).to_be_visible(timeout=30_000)
    if page.locator("#setup-form").count():
        story.shot("01-setup")
        fill_setup(page, story.panel.home)
    else:  # test_first_admin.py ran first and made the admin with the setup token
        page.fill("#field-username", ADMIN)
        page.fill("#field-password", PASSWORD)
        page.locator("#login-form button[type=submit]").click()
    expect(page.locator("#empty-state")).to_be_visible()
    expect(page.locator("#user-menu")).to_have_text(ADMIN)
    story.shot("02-overview-empty")


def test_login_guards_a_deep_link(story):
    page = story.page
    page.locator("#user-menu").click()
    page.locator("#logout").click()
    expect(page.locator("#login-form")).to_be_visible()
    story.go("/apps")
    expect(page.locator("#login-form")).to_be_visible()
    expect(page.locator("#add-app")).to_have_count(0)
    assert "setup-form" not in page.content()  # an admin exists: no second first run
    page.fill("#field-username", ADMIN)
    page.fill("#field-password", "not-the-password")
    page.locator("#login-form button[type=submit]").click()
    expect(page.locator("#auth-error")).to_have_text("Wrong user name or password.")
    story.shot("03-login-wrong-password")
    page.fill("#field-password", PASSWORD)
    page.locator("#login-form button[type=submit]").click()
    expect(page.locator("#add-app")).to_be_visible()
    assert re.fullmatch(rf"{re.escape(story.panel.url)}/apps/?", page.url), page.url
    story.shot("04-apps-empty")


def test_add_a_server_and_check_it(story, sandbox):
    page = story.page
    page.get_by_role("link", name="Servers").click()
    expect(page).to_have_url(re.compile(r"/servers/?$"))
    page.locator("#add-server").click()
    expect(page.locator("#server-form")).to_be_visible()
    for name, value in (
        ("name", "sandbox"),
        ("host", "127.0.0.1"),
        ("port", str(sandbox.ssh_port)),
        ("user", sandbox.user),
        ("deploy_root", sandbox.deploy_root),
        ("nginx_conf_dir", sandbox.nginx_conf_dir),
        ("nginx_cmd", sandbox.nginx_cmd),
        ("supervisor_conf_dir", sandbox.supervisor_conf_dir),
        ("supervisorctl_cmd", sandbox.supervisorctl_cmd),
    ):
        page.fill(f"#field-{name}", value)
    # paste the private key, as an operator does
    key = Path(sandbox.key_path).read_text()
    page.evaluate("text => navigator.clipboard.writeText(text)", key)
    page.locator("#field-key_text").focus()
    page.keyboard.press("Control+V")
    assert page.input_value("#field-key_text") == key
    story.shot("05-server-dialog")
    page.locator("#save-server").click()
    expect(page.locator("#server-form")).to_have_count(0)
    row = page.locator("#servers-table tbody tr", has_text="sandbox")
    expect(row).to_contain_text(f"{sandbox.user}@127.0.0.1:{sandbox.ssh_port}")
    expect(row).to_contain_text("not connected yet")
    assert key.splitlines()[1] not in page.content()

    # count the check rows each time the panel changes, to see them arrive one by one
    page.evaluate(
        """() => {
            window.__checkCounts = [];
            new MutationObserver(() => {
                const n = document.querySelectorAll('#check-panel .check-item').length;
                if (window.__checkCounts.at(-1) !== n) window.__checkCounts.push(n);
            }).observe(document.body, {childList: true, subtree: true});
        }"""
    )
    page.locator("#check-sandbox").click()
    panel = page.locator("#check-panel")
    expect(panel).to_contain_text("Check of sandbox")
    items = panel.locator(".check-item")
    expect(items).to_have_count(CHECK_ITEMS, timeout=60_000)
    expect(panel.locator(".check-item svg.lucide-circle-check")).to_have_count(CHECK_ITEMS)
    expect(panel.locator(".check-item svg.lucide-circle-x")).to_have_count(0)
    for label in ("SSH login", "nginx -t", "supervisorctl reachable", "deploy root writable"):
        expect(panel).to_contain_text(label)
    expect(page.locator("[data-sonner-toast]", has_text="ready for deploys")).to_be_visible()
    counts = page.evaluate("window.__checkCounts")
    assert len([n for n in counts if 0 < n < CHECK_ITEMS]) >= 2, counts  # rows came in as done
    expect(page.locator("#check-sandbox")).to_be_enabled()  # not loading any more
    expect(row).to_contain_text("SHA256:")  # the host key recorded at first connect
    story.shot("06-server-checked")


def test_add_an_app(story):
    page = story.page
    page.get_by_role("link", name="Apps").click()
    expect(page).to_have_url(re.compile(r"/apps/?$"))
    page.locator("#add-app").click()
    expect(page.locator("#app-form")).to_be_visible()
    page.fill("#field-name", APP)
    page.fill("#field-source", str(story.repo.path))
    page.fill("#field-url", story.app_url)
    page.fill("#env-key-0", "GREETING")
    page.fill("#env-value-0", SECRET)
    expect(page.locator("#env-value-0")).to_have_attribute("type", "password")
    story.shot("07-app-dialog")
    story.watch_sent = True
    page.locator("#save-app").click()
    expect(page).to_have_url(re.compile(rf"/apps/{APP}/?$"))
    expect(page.get_by_role("heading", name=APP)).to_be_visible()
    expect(page.locator("#app-status")).to_have_text("new")
    expect(page.get_by_text("No release yet")).to_be_visible()
    expect(page.locator("#releases-table")).to_be_hidden()
    app = story.cli.json("app", "list")[0]
    assert app["name"] == APP and app["url"] == story.app_url
    # its deploy key's public half, to paste into the git host; never the private one
    key = story.cli.ok("app", "deploy-key", APP).strip()
    expect(page.locator("#deploy-key")).to_have_value(key)
    expect(page.locator("#deploy-key")).to_have_attribute("readonly", "")
    expect(page.get_by_text("read-only deploy key on your git host")).to_be_visible()
    assert "PRIVATE KEY" not in page.content()
    assert app["env_keys"] == ["GREETING"]
    # the observer works: the form went out over the websocket with the value in it
    assert any(SECRET in f for f in story.sent), "the save frame was not observed"
    story.sent.clear()
    story.shot("08-app-new")


def test_deploy_from_the_ui_streams_the_log(story):
    page = story.page
    before = story.latest_deployment()
    page.locator("#deploy").click()
    dep_id = story.wait_new_deployment(before)
    story.first_deploy = dep_id
    status = page.locator("#live-status")
    expect(status).to_have_text("running", timeout=30_000)
    lines = page.locator("#live-log .log-line")
    expect(lines.first).to_be_visible()
    seen = lines.count()
    # new lines arrive while it still runs, without a reload
    page.wait_for_function(
        """n => document.querySelectorAll('#live-log .log-line').length > n
               && document.querySelector('#live-status').textContent === 'running'""",
        arg=seen,
        timeout=60_000,
    )
    expect(page.locator("#live-log")).to_contain_text("checkout")
    story.shot("09-deploy-running")
    story.wait_outcome(dep_id, COLD_BUILD)
    expect(page.locator("#live-reason")).to_be_visible()
    expect(page.locator("#app-status")).to_have_text("live")
    expect(page.locator(".step-chip", has_text="health gate")).to_be_visible()
    story.shot("10-deploy-success")
    story.serves("v1")
    story.shot("11-app-v1", page=story.tab)


def test_the_doctor_panel_reports_the_deployed_app(story):
    assert "doctor: 10 passed, 0 WARN, 0 FAIL" in story.cli.ok("logs", str(story.first_deploy))
    page = story.page
    expect(page.locator("#doctor-table")).to_be_hidden()
    page.locator("#run-doctor").click()
    expect(page.locator("#doctor-table")).to_be_visible()
    expect(page.locator("#doctor-summary")).to_have_text("13 passed, 0 WARN, 0 FAIL")
    # what the build's export read: GREETING is read only at request time
    exported = page.locator("#doctor-table .doctor-finding", has_text="export-env")
    expect(exported).to_contain_text("PASS")
    health = page.locator("#doctor-table .doctor-finding", has_text="health")
    expect(health).to_contain_text("PASS")
    expect(health).to_contain_text(f"{story.app_url}/ping answered 200")
    story.shot("10b-doctor")


def test_second_deploy_serves_v2(story):
    story.version_commits["v2"] = story.repo.set_version("v2")
    before = story.latest_deployment()
    story.page.locator("#deploy").click()
    dep_id = story.wait_new_deployment(before)
    story.wait_outcome(dep_id, DEPLOY)
    story.serves("v2")
    rows = story.page.locator("#releases-table tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.first).to_contain_text("current")
    expect(rows.first).to_contain_text(story.version_commits["v2"][:12])


def test_roll_back_from_the_releases_table(story):
    page = story.page
    v1 = story.release_of("v1")
    row = page.locator("#releases-table tbody tr", has_text=v1)
    expect(row).to_contain_text(story.version_commits["v1"][:12])
    expect(page.locator("#releases-table .rollback-button")).to_have_count(1)  # not the live one
    row.locator(".rollback-button").click()
    dialog = page.get_by_role("alertdialog")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text(v1)
    story.shot("12-rollback-confirm")
    before = story.latest_deployment()
    page.locator("#confirm-rollback").click()
    expect(dialog).to_have_count(0)
    dep_id = story.wait_new_deployment(before)
    story.wait_outcome(dep_id, DEPLOY)
    expect(
        page.locator("[data-sonner-toast]", has_text=f"Deployment #{dep_id} succeeded")
    ).to_be_visible()
    story.shot("13-rollback-done")
    story.serves("v1")
    expect(page.locator("#releases-table tbody tr", has_text=v1)).to_contain_text("current")
    assert story.cli.json("deployments", APP)[0]["kind"] == "rollback"


def test_deployment_page_shows_the_whole_story(story):
    page = story.page
    dep_id = story.live_id()
    page.locator("#live-deployment").click()
    expect(page).to_have_url(re.compile(rf"/deployments/{dep_id}/?$"))
    _check_deployment_page(story, dep_id, "rollback")
    story.shot("14-deployment-rollback")

    # the first deploy: every step, from checkout to finish, with its duration
    story.go(f"/apps/{APP}")
    page.locator(f'#history-table a[href="/deployments/{story.first_deploy}"]').click()
    expect(page).to_have_url(re.compile(rf"/deployments/{story.first_deploy}/?$"))
    steps = _check_deployment_page(story, story.first_deploy, "deploy")
    for step in ("checkout", "build", "upload", "health gate", "switch", "finish"):
        assert any(name.startswith(step) for name in steps), (step, steps)
    story.shot("15-deployment-first")


def _check_deployment_page(story: Story, dep_id: int, kind: str) -> list[str]:
    page = story.page
    expect(page.get_by_role("heading", name=f"Deployment #{dep_id}")).to_be_visible()
    expect(page.locator("#deployment-status")).to_have_text("success")
    expect(page.locator("#deployment-reason")).to_be_visible()
    expect(page.get_by_text(f"ui · {ADMIN}")).to_be_visible()
    expect(page.get_by_text(kind, exact=True).first).to_be_visible()
    with story.db() as db:
        (stored,) = db.execute(
            "select count(*) from deploymentlog where deployment_id = ?", (dep_id,)
        ).fetchone()
        (last,) = db.execute(
            "select line from deploymentlog where deployment_id = ? order by id desc limit 1",
            (dep_id,),
        ).fetchone()
    assert stored > 5
    expect(page.locator("#full-log .log-line")).to_have_count(stored)
    expect(page.locator("#full-log .log-line").last).to_contain_text(last.splitlines()[0])
    rows = page.locator("table").filter(has_text="Duration").locator("tbody tr")
    expect(rows.first).to_be_visible()
    names = []
    for i in range(rows.count()):
        cells = rows.nth(i).locator("td")
        names.append(cells.nth(0).inner_text())
        assert cells.nth(1).inner_text() == "ok", rows.nth(i).inner_text()
        assert re.fullmatch(r"\d+\.\d\d s", cells.nth(2).inner_text()), rows.nth(i).inner_text()
    return names


def test_a_cli_deploy_shows_up_on_the_open_page(story):
    page = story.page
    story.go(f"/apps/{APP}")
    expect(page.locator("#live-status")).to_have_text("success")
    before = story.live_id()
    assert before == story.latest_deployment()
    story.version_commits["v3"] = story.repo.set_version("v3")
    proc = story.cli.popen("deploy", APP)
    try:
        dep_id = wait_for(
            lambda: (n := story.latest_deployment()) > before and n,
            timeout=60,
            every=0.05,
            what="the CLI's deployment row",
        )
        created = time.monotonic()
        # the page learns of it by itself: no reload, no click
        expect(page.locator("#live-deployment")).to_have_attribute(
            "href", f"/deployments/{dep_id}", timeout=2_000
        )
        assert time.monotonic() - created < 2.5
        expect(page.locator("#live-status")).to_have_text(
            re.compile(r"^(running|success)$"), timeout=10_000
        )
        expect(page.locator("#live-deployment")).to_contain_text(f"#{dep_id}")
        expect(page.locator("#live-trigger")).to_contain_text("cli")
        story.shot("16-cli-deploy-live")
        out, err = proc.communicate(timeout=DEPLOY / 1000)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, out + err
    story.wait_outcome(dep_id, DEPLOY)
    story.serves("v3")

    page.get_by_role("link", name="Overview").click()
    table = page.locator("#apps-table")
    expect(table).to_be_visible()
    expect(table.locator("tbody tr", has_text=APP)).to_contain_text(story.app_url)
    expect(page.locator(f"#status-{APP}")).to_have_text("live")
    story.shot("17-overview")


def test_env_values_never_reach_the_browser(story):
    page = story.page
    story.go("/apps")
    row = page.locator("#apps-list tbody tr", has_text=APP)
    expect(row).to_contain_text(story.app_url)
    row.get_by_role("button", name="Edit").click()
    form = page.locator("#app-form")
    expect(form).to_be_visible()
    expect(form).to_contain_text("GREETING")
    expect(page.locator('input[name="env_value__GREETING"]')).to_have_value("")
    story.shot("18-app-edit-dialog")
    assert SECRET not in page.content()
    page.keyboard.press("Escape")
    expect(form).to_have_count(0)

    story.go(f"/apps/{APP}")
    expect(page.locator("#live-status")).to_have_text("success")
    assert SECRET not in page.content()
    assert story.received, "no websocket frame was observed"
    leaked = [f[:200] for f in story.received + story.sent if SECRET in f]
    assert not leaked, leaked
    # the deployed app still got it
    assert get(f"{story.app_url}/api/greeting").json()["greeting"] == SECRET


def test_phone_and_dark_mode(story):
    phone = story.context.new_page()
    phone.set_viewport_size({"width": 390, "height": 844})
    phone.goto(f"{story.panel.url}/apps/{APP}")
    expect(phone.locator("#deploy")).to_be_visible()
    expect(phone.locator("#live-status")).to_have_text("success")
    width = phone.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the page scrolls sideways on a phone ({width}px)"
    story.shot("19-phone-app", page=phone)
    phone.goto(story.panel.url + "/")
    expect(phone.locator("#apps-table")).to_be_visible()
    story.shot("20-phone-overview", page=phone)
    phone.close()

    page = story.page
    page.emulate_media(color_scheme="dark")
    story.go(f"/apps/{APP}")
    expect(page.locator("#live-status")).to_have_text("success")
    expect(page.locator("html")).to_have_class(re.compile(r"\bdark\b"))
    story.shot("21-dark-app")
    story.go("/servers")
    expect(page.locator("#servers-table")).to_be_visible()
    story.shot("22-dark-servers")
