"""Hostile input at every edge of the running panel: the dashboard's forms in
headless Chromium, the CLI, the push webhook and the HTTP API (/api/v1).

Every input must be refused clearly (CLI: exit 2, or 1 for a name that does not
exist, with one `rxpanel: ` line on stderr and no traceback; UI: a message in
the form, the dialog still open, or a toast; HTTP: a 4xx with a JSON `error`,
never a 5xx), and nothing may run or be written on the server: after each case
and after the whole suite, the sandbox's SSH logins and file tree, the panel's
deployments, apps, servers and users, and the marker files the payloads name
are as they were.

The cases run in file order against one panel (the shared `panel` fixture) and
the real sandbox. The webhook replay, whose first delivery rightly queues one
deployment, is checked on its own app, on a server that is nowhere."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS
from tests.browser.test_dashboard import ADMIN, PASSWORD
from tests.conftest import AppRepo, free_port, wait_for
from tests.integration.test_deploy import _server_snapshot

pytestmark = [pytest.mark.integration, pytest.mark.browser]

TARGET = "hostile-target"  # on the sandbox: what a hostile input that got through would hit
REPLAY = "hostile-replay"  # the webhook replay's app, on a server where nothing listens
NOWHERE = "hostile-nowhere"
OWN_ADMIN, OWN_PASSWORD = "hostile-admin", "hostile-admin-password-7"
PWN = "/tmp/pwn"
MARKERS = [Path(PWN)]  # every file a payload below tries to create
LONG = 5_000
MAX_MESSAGE = 400  # a clear refusal names the problem; it does not echo 5,000 characters
SHA = "c0ffee" * 6 + "abcd"  # a well-formed commit sha
FINAL = ("success", "failed", "superseded", "interrupted", "cancelled")
UI_TIMEOUT = 15_000  # ms


# -- the world the hostile inputs are thrown at ----------------------------------


@dataclass
class World:
    panel: object
    sandbox: object
    repo: AppRepo
    server: str  # the panel's record of the sandbox
    admin: str
    password: str
    token: str
    secret: str  # TARGET's webhook secret
    replay_secret: str
    free_url: str  # a valid public URL no app uses, for otherwise valid forms
    baseline: dict = field(default_factory=dict)
    created_users: list[str] = field(default_factory=list)

    def rows(self, sql: str, *args) -> list[tuple]:
        uri = f"file:{self.panel.home / 'rxpanel.db'}?mode=ro"
        with closing(sqlite3.connect(uri, uri=True)) as db:
            return db.execute(sql, args).fetchall()

    def database(self) -> dict:
        """What a hostile input must not add: apps, servers, users, deployments
        (the replay app's own deployment aside)."""
        return {
            "apps": [r[0] for r in self.rows("select name from app order by name")],
            "servers": [r[0] for r in self.rows("select name from server order by name")],
            "users": [r[0] for r in self.rows('select username from "user" order by username')],
            "deployments": [
                r[0]
                for r in self.rows(
                    "select d.id from deployment d join app a on a.id = d.app_id "
                    "where a.name != ? order by d.id",
                    REPLAY,
                )
            ],
        }

    def state(self) -> dict:
        return {
            "server": server_snapshot(self.sandbox),
            "database": self.database(),
            "markers": [str(m) for m in MARKERS if m.exists()],
        }

    def assert_untouched(self, case: str) -> None:
        now = self.state()
        for part in ("markers", "database", "server"):
            assert now[part] == self.baseline[part], (
                f"[{case}] the {part} changed:\nbefore: {self.baseline[part]}\nafter:  {now[part]}"
            )

    def sub(self, args: tuple[str, ...]) -> list[str]:
        """The case's arguments with the world's names put in."""
        names = {
            "@APP": TARGET,
            "@SERVER": self.server,
            "@KEY": str(self.sandbox.key_path),
            "@REPO": str(self.repo.path),
            "@URL": self.free_url,
            "@ADMIN": self.admin,
        }
        return [names.get(a, a) for a in args]


def server_snapshot(sandbox) -> tuple:
    """test_deploy's snapshot (SSH logins; paths and mtimes under the deploy root
    and the nginx and supervisor conf dirs), less what the standby timers left
    on the server by earlier deploys of other apps (other tests) touch by
    themselves: their transient `.lock`, their `standby` marker, and so the
    mtime of their app's directory."""
    logins, files = _server_snapshot(sandbox)
    root = Path(sandbox.deploy_root)
    kept = []
    for path, mtime in files:
        rel = Path(path).relative_to(root).parts if Path(path).is_relative_to(root) else ()
        if rel and rel[0] not in (TARGET, REPLAY):
            if len(rel) == 1:
                mtime = None
            elif rel[1] in (".lock", "standby"):
                continue
        kept.append((path, mtime))
    return logins, kept


def run_cli(cli, args: list[str], stdin: str = "") -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "rxpanel", *args],
        env=cli.env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture(scope="module")
def world(panel, sandbox, tmp_path_factory):
    cli = panel.cli
    if there := [str(m) for m in MARKERS if m.exists()]:
        pytest.fail(f"{there} exist before the suite: checking for them would prove nothing")
    # one server record per machine (as test_webhook_deploys): reuse the sandbox's
    same = [
        s["name"]
        for s in cli.json("server", "list")
        if (s["host"], s["port"]) == ("127.0.0.1", sandbox.ssh_port)
    ]
    server = same[0] if same else "hostile-sandbox"
    if not same:
        cli.ok(*sandbox.server_add_args(server))
    repo = AppRepo(tmp_path_factory.mktemp("hostile") / "app")
    cli.ok(
        *("app", "add", TARGET, "--server", server, "--source", str(repo.path)),
        *("--url", f"http://127.0.0.1:{free_port()}", "--env", "GREETING=hostile"),
    )
    cli.ok(
        *("server", "add", NOWHERE, "--host", "127.0.0.1", "--port", str(free_port())),
        *("--user", "nobody", "--key", str(sandbox.key_path), "--no-sudo"),
    )
    cli.ok(
        *("app", "add", REPLAY, "--server", NOWHERE, "--source", str(repo.path)),
        *("--url", f"http://127.0.0.1:{free_port()}"),
    )
    # the browser story's admin when it ran in this session; our own otherwise
    users = [u["name"] for u in cli.json("user", "list")]
    admin, password = (ADMIN, PASSWORD) if ADMIN in users else (OWN_ADMIN, OWN_PASSWORD)
    created = []
    if admin not in users:
        add_admin(cli, admin, password)
        created.append(admin)
    token = cli.json("token", "issue", admin, "--name", "hostile", "--scope", "deploy")
    w = World(
        panel=panel,
        sandbox=sandbox,
        repo=repo,
        server=server,
        admin=admin,
        password=password,
        token=token["token"],
        secret=cli.json("app", "webhook", TARGET)["secret"],
        replay_secret=cli.json("app", "webhook", REPLAY)["secret"],
        free_url=f"http://127.0.0.1:{free_port()}",
        created_users=created,
    )
    w.baseline = w.state()
    try:
        yield w
    finally:
        # leave the panel as we found it, for whatever runs next in the session
        wait_for(
            lambda: all(
                r[0] in FINAL
                for r in w.rows(
                    "select d.status from deployment d join app a on a.id = d.app_id "
                    "where a.name = ?",
                    REPLAY,
                )
            ),
            timeout=180,
            what="the replay app's deployment to end",
        )
        cli.ok("token", "revoke", str(token["id"]))
        for name in (TARGET, REPLAY):
            cli.ok("app", "remove", name)
        cli.ok("server", "remove", NOWHERE)
        if not same:
            cli.ok("server", "remove", server)
        forget_users(panel.home, w.created_users)


def add_admin(cli, name: str, password: str) -> None:
    r = run_cli(cli, ["user", "add", name, "--role", "admin", "--password-stdin"], password + "\n")
    assert r.returncode == 0, r.stdout + r.stderr


def forget_users(home: Path, names: list[str]) -> None:
    """Remove the users we made, so that a browser story run later in the session
    still finds the panel as it was (with no user: on its first run)."""
    with closing(sqlite3.connect(home / "rxpanel.db")) as db, db:
        for name in names:
            found = db.execute('select id from "user" where username = ?', (name,)).fetchone()
            if found:
                db.execute("delete from usersession where user_id = ?", found)
                db.execute("delete from apitoken where user_id = ?", found)
                db.execute('delete from "user" where id = ?', found)


# -- UI: the dashboard in headless Chromium --------------------------------------


class Ui:
    """Playwright in a thread of its own: the browser story's session-wide sync
    Playwright, when it runs, owns the main thread's event loop."""

    def __init__(self) -> None:
        self.pool = ThreadPoolExecutor(1, thread_name_prefix="hostile-ui")
        self.pw = self.browser = self.context = self.page = None

    def __call__(self, fn: Callable, *args):
        return self.pool.submit(fn, self, *args).result(timeout=300)

    def start(self) -> None:
        from playwright.sync_api import sync_playwright

        self.pw = sync_playwright().start()
        self.browser = self.pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        self.context = self.browser.new_context(viewport={"width": 1280, "height": 900})
        self.context.set_default_timeout(UI_TIMEOUT)
        self.page = self.context.new_page()

    def stop(self) -> None:
        for closer in (self.context, self.browser):
            if closer is not None:
                closer.close()
        if self.pw is not None:
            self.pw.stop()


@pytest.fixture(scope="module")
def ui(world):
    driver = Ui()
    try:
        driver(Ui.start)
        if not driver(_log_in, world.panel.url, world.admin, world.password):
            # the story's admin is there but cannot log in: one of our own
            name = f"{OWN_ADMIN}-{secrets.token_hex(3)}"
            add_admin(world.panel.cli, name, OWN_PASSWORD)
            world.created_users.append(name)
            world.baseline["database"] = world.database()
            assert driver(_log_in, world.panel.url, name, OWN_PASSWORD), "cannot log in"
        yield driver
    finally:
        driver.pool.submit(Ui.stop, driver).result(timeout=120)
        driver.pool.shutdown()


def _log_in(ui: Ui, url: str, user: str, password: str) -> bool:
    page = ui.page
    page.goto(url + "/servers")
    page.locator("#login-form").wait_for()
    page.fill("#field-username", user)
    page.fill("#field-password", password)
    page.locator("#login-form button[type=submit]").click()
    page.locator("#add-server, #auth-error").first.wait_for()
    return page.locator("#add-server").count() == 1


@dataclass(frozen=True)
class UiCase:
    id: str
    form: str  # server | app | deploy | login
    name: str  # the field's name in the form
    value: str
    says: str  # what the message must say (a regular expression)

    def __str__(self) -> str:
        return self.id


NOT_VALID_REF = r"ref .* is not valid"
WRONG_LOGIN = r"^Wrong user name or password\.$"
UI_CASES = [
    # the server form (admin)
    UiCase("server-name-semicolon", "server", "name", "web;touch /tmp/pwn", r"^server name "),
    UiCase(
        "server-host-proxycommand",
        "server",
        "host",
        "-oProxyCommand=touch /tmp/pwn",
        r"^host .* is not a valid hostname",
    ),
    UiCase("server-port-0", "server", "port", "0", r"^SSH port 0 is out of range"),
    UiCase("server-port-70000", "server", "port", "70000", r"^SSH port 70000 is out of range"),
    UiCase("server-user-semicolon", "server", "user", "root;id", r"^user .* not a valid Unix user"),
    UiCase(
        "server-root-dotdot",
        "server",
        "deploy_root",
        "/srv/rxpanel/../../etc",
        r"^deploy root .* must not contain '\.' or '\.\.' parts",
    ),
    UiCase(
        "server-root-subshell",
        "server",
        "deploy_root",
        "/srv/$(touch /tmp/pwn)",
        r"^deploy root .* must be an absolute path",
    ),
    UiCase(
        "server-nginx-cmd-rm-rf",
        "server",
        "nginx_cmd",
        "nginx; rm -rf /",
        r"^nginx command .* may only hold words",
    ),
    UiCase(
        "server-supervisor-dir-newline",
        "server",
        "supervisor_conf_dir",
        "/etc/supervisor/conf.d\ntouch /tmp/pwn",
        r"^supervisor conf dir .* must be an absolute path",
    ),
    # the app form (deployer)
    UiCase(
        "app-name-metachars", "app", "name", "shop;touch /tmp/pwn|id&", r"^app name .* not valid"
    ),
    UiCase("app-name-newline", "app", "name", "shop\ntouch", r"^app name .* not valid"),
    UiCase(
        "app-source-subshell",
        "app",
        "source",
        "$(touch /tmp/pwn)",
        r"^source .* must be an absolute directory path or a git URL",
    ),
    UiCase(
        "app-source-upload-pack",
        "app",
        "source",
        "--upload-pack=touch /tmp/pwn",
        r"^source .* must be an absolute directory path or a git URL",
    ),
    UiCase(
        "app-source-url-with-password",
        "app",
        "source",
        "https://deploy:hunter2@github.com/acme/shop.git",
        r"must not hold a password",
    ),
    UiCase(
        "app-source-ssh-proxycommand",
        "app",
        "source",
        "ssh://-oProxyCommand%3Dtouch%20%2Ftmp%2Fpwn/repo",
        r"does not name a valid host",
    ),
    UiCase(
        "app-url-with-path", "app", "url", "http://127.0.0.1:18081/shop", r"must not have a path"
    ),
    UiCase(
        "app-url-javascript",
        "app",
        "url",
        "javascript:alert(document.cookie)",
        r"must start with http:// or https://",
    ),
    UiCase(
        "app-url-credentials",
        "app",
        "url",
        "http://admin:hunter2@127.0.0.1:18081",
        r"must not hold credentials",
    ),
    UiCase("app-branch-semicolon", "app", "branch", "main;id", r"^branch .* is not valid"),
    UiCase("app-env-key-space", "app", "new_key_0", "A B", r"^env key .* must be letters"),
    UiCase("app-env-key-newline", "app", "new_key_0", "A\nB", r"^env key .* must be letters"),
    UiCase(
        "app-env-value-newline",
        "app",
        "new_value_0",
        "line1\nline2",
        r"^env value of GREETING must not contain control characters",
    ),
    # the app page's deploy form
    UiCase(
        "deploy-ref-upload-pack", "deploy", "ref", "--upload-pack=touch /tmp/pwn", NOT_VALID_REF
    ),
    UiCase("deploy-ref-semicolon", "deploy", "ref", "main;touch /tmp/pwn", NOT_VALID_REF),
    UiCase("deploy-ref-traversal", "deploy", "ref", "../../etc", NOT_VALID_REF),
    # the login form
    UiCase("login-10k-user-name", "login", "username", "a" * 10_000, WRONG_LOGIN),
    UiCase("login-sql", "login", "username", "' OR 1=1 --", WRONG_LOGIN),
    UiCase(
        "login-markup",
        "login",
        "username",
        "<img src=x onerror=\"document.title='pwned'\">",
        WRONG_LOGIN,
    ),
]


def _put(form, name: str, value: str) -> None:
    """Type the value into the named field. An <input> drops line breaks, so a
    value holding one goes in as a hostile client sends it: the field is
    disabled and a <textarea> of the same name carries the value instead."""
    if not re.search(r"[\r\n]", value):
        form.locator(f'[name="{name}"]').fill(value)
        return
    form.evaluate(
        """(form, [name, value]) => {
            for (const el of form.querySelectorAll(`[name="${name}"]`)) el.disabled = true;
            const area = document.createElement('textarea');
            area.name = name;
            area.value = value;
            area.hidden = true;
            form.appendChild(area);
        }""",
        [name, value],
    )


def _dialog_case(ui: Ui, url: str, case: UiCase, valid: dict[str, str]) -> str:
    from playwright.sync_api import expect

    page = ui.page
    path, opener, form_id, save = {
        "server": ("/servers", "#add-server", "#server-form", "#save-server"),
        "app": ("/apps", "#add-app", "#app-form", "#save-app"),
    }[case.form]
    if not page.url.rstrip("/").endswith(path):
        page.goto(url + path)
    page.locator(opener).click()
    form = page.locator(form_id)
    expect(form).to_be_visible()
    for name, value in valid.items():
        if name != case.name:
            form.locator(f'[name="{name}"]').fill(value)
    _put(form, case.name, case.value)
    page.locator(save).click()
    error = form.locator(".form-error")
    expect(error).to_be_visible()
    text = error.inner_text().strip()
    expect(form).to_be_visible()  # the dialog stays open, the input can be corrected
    page.keyboard.press("Escape")
    expect(form).to_have_count(0)
    return text


def _deploy_case(ui: Ui, url: str, case: UiCase) -> str:
    from playwright.sync_api import expect

    page = ui.page
    if not page.url.rstrip("/").endswith(f"/apps/{TARGET}"):
        page.goto(f"{url}/apps/{TARGET}")
    expect(page.locator("#deploy")).to_be_visible()
    page.fill("#deploy-ref", case.value)
    page.locator("#deploy").click()
    toast = page.locator('[data-sonner-toast][data-type="error"]', has_text=case.value[:20])
    expect(toast.last).to_be_visible()
    expect(page.locator("[data-sonner-toast]", has_text="queued")).to_have_count(0)
    return toast.last.inner_text().strip()


def _login_case(ui: Ui, url: str, case: UiCase) -> str:
    from playwright.sync_api import expect

    context = ui.browser.new_context()  # logged out, and no earlier message on the form
    try:
        page = context.new_page()
        page.goto(url + "/")
        form = page.locator("#login-form")
        expect(form).to_be_visible(timeout=30_000)
        page.fill("#field-username", case.value)
        page.fill("#field-password", "' OR '1'='1' --")
        page.locator("#login-form button[type=submit]").click()
        error = page.locator("#auth-error")
        expect(error).to_be_visible()
        expect(form).to_be_visible()
        expect(page.locator("#user-menu")).to_have_count(0)
        assert page.evaluate("document.title") != "pwned"
        return error.inner_text().strip()
    finally:
        context.close()


@pytest.mark.parametrize("case", UI_CASES, ids=str)
def test_ui_refuses(world, ui, case: UiCase):
    url = world.panel.url
    if case.form == "server":
        valid = {
            "name": "hostile-ui",
            "host": "127.0.0.1",
            "port": str(world.sandbox.ssh_port),
            "user": "rx",
            "key_path": str(world.sandbox.key_path),  # were the input let through, it would save
        }
        message = ui(_dialog_case, url, case, valid)
    elif case.form == "app":
        valid = {
            "name": "hostile-ui",
            "source": str(world.repo.path),
            "url": world.free_url,
            "branch": "main",
            "new_key_0": "GREETING",
            "new_value_0": "hi",
        }
        message = ui(_dialog_case, url, case, valid)
    elif case.form == "deploy":
        message = ui(_deploy_case, url, case)
    else:
        message = ui(_login_case, url, case)
    assert re.search(case.says, message), f"[{case}] unclear message: {message[:500]!r}"
    assert len(message) <= MAX_MESSAGE, f"[{case}] a {len(message)}-character message"
    assert "Traceback" not in message
    world.assert_untouched(case.id)


# -- CLI -------------------------------------------------------------------------


@dataclass(frozen=True)
class CliCase:
    id: str
    args: tuple[str, ...]
    says: str
    codes: tuple[int, ...] = (2,)  # 2: refused input; 1 where a name simply is not found
    stdin: str = ""

    def __str__(self) -> str:
        return self.id


def _app_add(name="shop", source="@REPO", url="@URL", *extra: str) -> tuple[str, ...]:
    return ("app", "add", name, "--server", "@SERVER", "--source", source, "--url", url, *extra)


def _server_add(*extra: str, name: str = "evil", host: str = "127.0.0.1") -> tuple[str, ...]:
    return ("server", "add", name, f"--host={host}", "--key", "@KEY", *extra)


NOT_FOUND = (1, 2)
CLI_CASES = [
    CliCase("app-name-semicolon", _app_add("x;touch /tmp/pwn"), r"app name"),
    CliCase("app-name-newline", _app_add("shop\ntouch /tmp/pwn"), r"app name"),
    CliCase("app-name-5000", _app_add("a" * LONG), r"app name .*5000 characters"),
    CliCase("app-url-5000", _app_add(url="http://" + "a" * LONG), r"host .*not a valid hostname"),
    CliCase("app-url-javascript", _app_add(url="javascript:alert(1)"), r"must start with http"),
    CliCase("app-source-subshell", _app_add(source="$(touch /tmp/pwn)"), r"^rxpanel: source "),
    CliCase(
        "app-source-upload-pack",
        _app_add(source="--upload-pack=touch /tmp/pwn"),
        r"^rxpanel: source ",
    ),
    CliCase(
        "app-source-ssh-proxycommand",
        _app_add(source="ssh://-oProxyCommand%3Dtouch%20%2Ftmp%2Fpwn/repo"),
        r"does not name a valid host",
    ),
    CliCase("app-source-5000", _app_add(source="/" + "a" * LONG), r"source directory"),
    CliCase(
        "app-branch-upload-pack",
        _app_add("shop", "@REPO", "@URL", "--branch=--upload-pack=touch /tmp/pwn"),
        r"branch .* is not valid",
    ),
    CliCase("app-env-key-space", _app_add("shop", "@REPO", "@URL", "--env", "A B=1"), r"env key"),
    CliCase(
        "app-health-path-semicolon",
        _app_add("shop", "@REPO", "@URL", "--health-path", "/ping;touch /tmp/pwn"),
        r"health path",
    ),
    CliCase(
        "app-keep-releases-shell",
        _app_add("shop", "@REPO", "@URL", "--keep-releases", "5;id"),
        r"invalid int value",
    ),
    CliCase("server-name-semicolon", _server_add(name="evil;touch /tmp/pwn"), r"server name"),
    CliCase(
        "server-host-proxycommand",
        _server_add(host="-oProxyCommand=touch /tmp/pwn"),
        r"host .*not a valid hostname",
    ),
    CliCase("server-host-5000", _server_add(host="a" * LONG), r"host .*5000 characters"),
    CliCase("server-port-70000", _server_add("--port", "70000"), r"SSH port 70000 is out of range"),
    CliCase("server-port-shell", _server_add("--port", "22;touch /tmp/pwn"), r"is not a number"),
    CliCase(
        "server-user-semicolon", _server_add("--user", "root;touch /tmp/pwn"), r"^rxpanel: user"
    ),
    CliCase("server-root-dotdot", _server_add("--deploy-root", "/srv/../../tmp"), r"deploy root"),
    CliCase(
        "server-nginx-dir-subshell",
        _server_add("--nginx-conf-dir", "/etc/nginx/$(touch /tmp/pwn)"),
        r"nginx conf dir",
    ),
    CliCase(
        "server-nginx-cmd-backticks",
        _server_add("--nginx-cmd", "nginx `touch /tmp/pwn`"),
        r"nginx command",
    ),
    CliCase(
        "server-supervisorctl-and",
        _server_add("--supervisorctl-cmd", "supervisorctl && touch /tmp/pwn"),
        r"supervisorctl command",
    ),
    CliCase(
        "server-check-unknown",
        ("server", "check", "x;touch /tmp/pwn"),
        r"server name .* is not valid|no server",
        (1, 2),
    ),
    CliCase(
        "deploy-ref-upload-pack",
        ("deploy", "@APP", "--ref=--upload-pack=touch /tmp/pwn"),
        r"ref .* is not valid",
    ),
    CliCase(
        "deploy-ref-semicolon",
        ("deploy", "@APP", "--ref", "main;touch /tmp/pwn"),
        r"ref .* not valid",
    ),
    CliCase(
        "deploy-ref-traversal", ("deploy", "@APP", "--ref", "../../etc/passwd"), r"ref .* not valid"
    ),
    CliCase("deploy-ref-5000", ("deploy", "@APP", "--ref", "a" * LONG), r"ref .*5000 characters"),
    CliCase(
        "deploy-app-semicolon",
        ("deploy", "x;touch /tmp/pwn"),
        r"no app named|app name",
        NOT_FOUND,
    ),
    CliCase("deploy-app-5000", ("deploy", "a" * LONG), r"no app named|app name", NOT_FOUND),
    CliCase(
        "rollback-to-traversal",
        ("rollback", "@APP", "--to", "../../../etc"),
        r"is not a release id",
    ),
    CliCase(
        "rollback-to-subshell",
        ("rollback", "@APP", "--to", "x$(touch /tmp/pwn)"),
        r"is not a release id",
    ),
    CliCase(
        "rollback-to-newline",
        ("rollback", "@APP", "--to", "20261121T180102-ab12cd\ntouch /tmp/pwn"),
        r"is not a release id",
    ),
    CliCase("env-value-newline", ("app", "env", "@APP", "GREETING=line1\nline2"), r"env value of"),
    CliCase("env-key-dash", ("app", "env", "@APP", "BAD-KEY=1"), r"env key"),
    CliCase(
        "env-unset-semicolon", ("app", "env", "@APP", "--unset", "A;touch /tmp/pwn"), r"env key"
    ),
    CliCase("env-key-5000", ("app", "env", "@APP", "K" * LONG + "=1"), r"env key .*characters"),
    CliCase(
        "update-url-path",
        ("app", "update", "@APP", "--url", "http://127.0.0.1:1/x;id"),
        r"URL .* must not have a path",
    ),
    CliCase(
        "update-source-ext",
        ("app", "update", "@APP", "--source", "ext::sh -c touch% /tmp/pwn"),
        r"source ",
    ),
    CliCase("logs-id-shell", ("logs", "1;touch /tmp/pwn"), r"invalid int value"),
    CliCase("deliveries-traversal", ("deliveries", "../../etc"), r"no app named|app", NOT_FOUND),
    CliCase(
        "user-add-name-semicolon",
        ("user", "add", "x;touch /tmp/pwn", "--role", "admin", "--password-stdin"),
        r"user name",
        stdin="long-enough-password\n",
    ),
    CliCase(
        "token-name-escapes",
        ("token", "issue", "@ADMIN", "--name", "t\x1b[2J\nforged line", "--scope", "deploy"),
        r"token name",
    ),
]


@pytest.mark.parametrize("case", CLI_CASES, ids=str)
def test_cli_refuses(world, case: CliCase):
    args = world.sub(case.args)
    r = run_cli(world.panel.cli, args, case.stdin)
    shown = f"[{case}] rxpanel {' '.join(a[:60] for a in args)!r}"
    assert r.returncode in case.codes, f"{shown}: exit {r.returncode}\n{r.stdout}\n{r.stderr}"
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("rxpanel: "), f"{shown}: {r.stderr[:2000]}"
    assert "Traceback" not in r.stdout + r.stderr, shown
    assert "unexpected error" not in lines[0], f"{shown}: {lines[0]}"
    assert re.search(case.says, lines[0]), f"{shown}: unclear message {lines[0][:500]!r}"
    assert len(lines[0]) <= MAX_MESSAGE, f"{shown}: a {len(lines[0])}-character message"
    world.assert_untouched(case.id)


# -- the push webhook: POST /api/hooks/{app} ----------------------------------------


def push_body(ref="refs/heads/main", after: object = SHA, **extra) -> bytes:
    return json.dumps({"ref": ref, "after": after, "commits": [], **extra}).encode()


def github(secret: str, body: bytes, delivery: str | None = None, event="push") -> dict:
    return {
        "Content-Type": "application/json",
        "X-GitHub-Event": event,
        "X-GitHub-Delivery": delivery or f"hostile-{secrets.token_hex(6)}",
        "X-Hub-Signature-256": "sha256="
        + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest(),
    }


def big_chunks():
    for _ in range(20):  # 1.3 MB with no Content-Length
        yield b" " * 65_536


@dataclass(frozen=True)
class HttpCase:
    id: str
    make: Callable  # (world) -> (method, path, dict of httpx keyword arguments)
    status: int
    says: str
    # False only for a path the web framework itself turns away before any of the
    # panel's code runs (Reflex's mount does not match a path with a line break)
    json: bool = True

    def __str__(self) -> str:
        return self.id


def _hook(app: str, body, headers: Callable[[World, bytes], dict] | None = None):
    def make(w: World):
        content = body() if callable(body) else body
        h = headers(w, content) if headers else github(w.secret, content)
        return "POST", f"/api/hooks/{app}", {"content": content, "headers": h}

    return make


HOOK_CASES = [
    HttpCase("malformed-json", _hook(TARGET, b'{"ref": "refs/heads/main", "after": '), 400, "JSON"),
    HttpCase(
        "json-array",
        _hook(TARGET, b'["refs/heads/main", "' + SHA.encode() + b'"]'),
        400,
        "JSON object",
    ),
    HttpCase("json-string", _hook(TARGET, b'"refs/heads/main"'), 400, "JSON object"),
    HttpCase("oversized-body", _hook(TARGET, b"{" + b" " * (1 << 20) + b"}"), 413, "too large"),
    HttpCase(
        "oversized-chunked-body",
        _hook(TARGET, big_chunks, lambda w, b: {"X-GitHub-Event": "push"}),
        413,
        "too large",
    ),
    HttpCase(
        "bad-signature",
        _hook(TARGET, push_body(), lambda w, b: github("not-the-secret-at-all", b)),
        401,
        "bad signature",
    ),
    HttpCase(
        "other-apps-secret",
        _hook(TARGET, push_body(), lambda w, b: github(w.replay_secret, b)),
        401,
        "bad signature",
    ),
    HttpCase(
        "missing-signature",
        _hook(TARGET, push_body(), lambda w, b: {"X-GitHub-Event": "push"}),
        401,
        "missing github signature",
    ),
    HttpCase(
        "no-provider-headers",
        _hook(TARGET, push_body(), lambda w, b: {"Content-Type": "application/json"}),
        401,
        "no signature",
    ),
    HttpCase(
        "gitlab-wrong-token",
        _hook(
            TARGET,
            push_body(),
            lambda w, b: {"X-Gitlab-Event": "Push Hook", "X-Gitlab-Token": "' OR 1=1 --"},
        ),
        401,
        "bad signature",
    ),
    HttpCase("commit-subshell", _hook(TARGET, push_body(after="$(id)")), 400, "not a git sha"),
    HttpCase(
        "commit-option",
        _hook(TARGET, push_body(after="--upload-pack=touch /tmp/pwn")),
        400,
        "not a git sha",
    ),
    HttpCase(
        "ref-with-shell-characters",
        _hook(TARGET, push_body(ref="refs/heads/main;touch /tmp/pwn")),
        400,
        "ref",
    ),
    HttpCase(
        "ref-with-control-characters",
        _hook(TARGET, push_body(ref="refs/heads/main\x1b[2J\nforged line")),
        400,
        "ref",
    ),
    HttpCase("ref-not-a-string", _hook(TARGET, push_body(ref=["refs/heads/main"])), 400, "string"),
    HttpCase(
        "delivery-id-300",
        _hook(TARGET, push_body(), lambda w, b: github(w.secret, b, delivery="d" * 300)),
        400,
        "delivery id",
    ),
    HttpCase("app-path-traversal", _hook("..%2F..%2Fetc", push_body()), 404, "no such"),
    HttpCase("app-semicolon", _hook("x;touch%20pwn", push_body()), 404, "no such app"),
    HttpCase("app-newline", _hook("x%0Atouch%20pwn", push_body()), 404, "", json=False),
    HttpCase("app-5000", _hook("a" * LONG, push_body()), 404, "no such app"),
]


def _api(method: str, path: str, token: bool = True, headers: dict | None = None, **kw):
    def make(w: World):
        h = {"Authorization": f"Bearer {w.token}"} if token else {}
        return method, path, {"headers": {**h, **(headers or {})}, **kw}

    return make


DEPLOY = f"/api/v1/apps/{TARGET}/deploy"
ROLLBACK = f"/api/v1/apps/{TARGET}/rollback"
API_CASES = [
    HttpCase(
        "deploy-ref-semicolon",
        _api("POST", DEPLOY, json={"ref": "main;touch /tmp/pwn"}),
        400,
        "ref",
    ),
    HttpCase(
        "deploy-ref-upload-pack",
        _api("POST", DEPLOY, json={"ref": "--upload-pack=touch /tmp/pwn"}),
        400,
        "ref",
    ),
    HttpCase(
        "deploy-ref-traversal", _api("POST", DEPLOY, json={"ref": "../../etc/passwd"}), 400, "ref"
    ),
    HttpCase(
        "deploy-ref-newline", _api("POST", DEPLOY, json={"ref": "main\ntouch /tmp/pwn"}), 400, "ref"
    ),
    HttpCase(
        "deploy-ref-subshell", _api("POST", DEPLOY, json={"ref": "$(touch /tmp/pwn)"}), 400, "ref"
    ),
    HttpCase("deploy-ref-object", _api("POST", DEPLOY, json={"ref": {"$ne": None}}), 400, "ref"),
    HttpCase(
        "deploy-ref-5000", _api("POST", DEPLOY, json={"ref": "a" * LONG}), 400, "5000 characters"
    ),
    HttpCase(
        "deploy-ref-duplicate-key",
        _api("POST", DEPLOY, content=b'{"ref": "main", "ref": "$(touch /tmp/pwn)"}'),
        400,
        "ref",
    ),
    HttpCase(
        "rollback-to-traversal",
        _api("POST", ROLLBACK, json={"to": "../../../etc"}),
        400,
        "not a release id",
    ),
    HttpCase(
        "rollback-to-subshell",
        _api("POST", ROLLBACK, json={"to": "x$(touch /tmp/pwn)"}),
        400,
        "not a release id",
    ),
    HttpCase(
        "rollback-to-semicolon",
        _api("POST", ROLLBACK, json={"to": "20261121T180102-ab12cd;id"}),
        400,
        "not a release id",
    ),
    HttpCase("body-malformed", _api("POST", DEPLOY, content=b"{nope"), 400, "JSON object"),
    HttpCase("body-array", _api("POST", DEPLOY, content=b'[{"ref": "main"}]'), 400, "JSON object"),
    HttpCase("body-not-utf8", _api("POST", DEPLOY, content=b"\xff\xfe{}"), 400, "JSON object"),
    HttpCase(
        "body-oversized",
        _api("POST", DEPLOY, content=b'{"ref": "' + b"a" * 70_000 + b'"}'),
        413,
        "too large",
    ),
    HttpCase(
        "body-oversized-2mib",
        _api("POST", ROLLBACK, content=b'{"to": "' + b"1" * (2 << 20) + b'"}'),
        413,
        "too large",
    ),
    HttpCase(
        "app-semicolon",
        _api("POST", "/api/v1/apps/x;touch%20pwn/deploy", json={}),
        400,
        "app name",
    ),
    HttpCase(
        "app-newline", _api("POST", "/api/v1/apps/x%0Aid/rollback", json={}), 404, "", json=False
    ),
    HttpCase(
        "app-5000", _api("POST", f"/api/v1/apps/{'a' * LONG}/deploy", json={}), 400, "app name"
    ),
    HttpCase(
        "app-path-traversal",
        _api("POST", "/api/v1/apps/..%2F..%2Fetc/deploy", json={}),
        404,
        "no such|not found",
    ),
    HttpCase(
        "token-sql",
        _api("POST", DEPLOY, token=False, headers={"Authorization": "Bearer ' OR 1=1 --"}, json={}),
        401,
        "token",
    ),
]


def _check_http(world: World, case: HttpCase, edge: str) -> None:
    method, path, kw = case.make(world)
    r = httpx.request(method, world.panel.url + path, timeout=60, **kw)
    shown = f"[{edge}:{case}] {method} {path[:80]}"
    assert r.status_code < 500, f"{shown}: {r.status_code} {r.text[:1000]}"
    assert r.status_code == case.status, f"{shown}: {r.status_code} {r.text[:1000]}"
    if not case.json:
        world.assert_untouched(f"{edge}:{case}")
        return
    try:
        data = r.json()
    except ValueError:
        raise AssertionError(f"{shown}: not JSON: {r.text[:500]!r}") from None
    message = data.get("error") or data.get("status") if isinstance(data, dict) else None
    assert message, f"{shown}: no error in {data!r}"
    assert re.search(case.says, str(message)), f"{shown}: unclear message {message!r}"
    assert len(str(message)) <= MAX_MESSAGE, f"{shown}: a {len(str(message))}-character message"
    world.assert_untouched(f"{edge}:{case}")


@pytest.mark.parametrize("case", HOOK_CASES, ids=str)
def test_webhook_refuses(world, case: HttpCase):
    _check_http(world, case, "webhook")


@pytest.mark.parametrize("case", API_CASES, ids=str)
def test_api_refuses(world, case: HttpCase):
    _check_http(world, case, "api")


# -- the replay, on an app of its own -------------------------------------------------


def test_a_replayed_delivery_queues_nothing_more(world):
    """Its first delivery queues one deployment (at a commit the repository does not
    have: it fails at checkout, before any server); the replay is a duplicate. A
    replayed push to another branch stays ignored."""
    hook = f"{world.panel.url}/api/hooks/{REPLAY}"
    body = push_body(after="f" * 40)
    headers = github(world.replay_secret, body, delivery="hostile-replay-1")
    first = httpx.post(hook, content=body, headers=headers, timeout=30)
    assert first.status_code == 202 and first.json()["status"] == "queued", first.text
    dep = first.json()["deployment"]
    for _ in range(2):
        again = httpx.post(hook, content=body, headers=headers, timeout=30)
        assert again.status_code == 200, again.text
        assert again.json() == {"status": "duplicate", "deployment": dep}
    other = push_body(ref="refs/heads/feature")
    other_headers = github(world.replay_secret, other, delivery="hostile-replay-2")
    for _ in range(2):
        r = httpx.post(hook, content=other, headers=other_headers, timeout=30)
        assert r.status_code == 202 and r.json()["status"] == "ignored", r.text

    deps = lambda: world.rows(  # noqa: E731
        "select d.id, d.status, d.reason from deployment d join app a on a.id = d.app_id "
        "where a.name = ?",
        REPLAY,
    )
    wait_for(lambda: all(d[1] in FINAL for d in deps()), timeout=180, what=f"deployment #{dep}")
    assert [(d[0], d[1]) for d in deps()] == [(dep, "failed")], deps()
    assert "not found" in deps()[0][2], deps()
    outcomes = [d["outcome"] for d in world.panel.cli.json("deliveries", REPLAY)]
    assert outcomes == ["ignored", "ignored", "duplicate", "duplicate", "queued"], outcomes


# -- and all together ------------------------------------------------------------------


def test_the_whole_suite_ran_nothing_and_wrote_nothing(world):
    edges = {"ui": UI_CASES, "cli": CLI_CASES, "webhook": HOOK_CASES, "api": API_CASES}
    counts = {edge: len(cases) for edge, cases in edges.items()}
    assert sum(counts.values()) >= 30, counts
    assert all(n >= 8 for n in counts.values()), counts
    ids = [f"{edge}:{c.id}" for edge, cases in edges.items() for c in cases]
    assert len(set(ids)) == len(ids), "every case is distinct"
    world.assert_untouched("the whole suite")
    for marker in MARKERS:
        assert not marker.exists(), marker
