"""Hostile input in the dashboard's forms, in headless Chromium: the server and app
dialogs, the app page's deploy form and the login form. Each is refused with a clear
message in the form (the dialog stays open) or a toast, and nothing is written."""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import pytest

from tests.integration.hostile.world import (
    MAX_MESSAGE,
    OWN_ADMIN,
    OWN_PASSWORD,
    TARGET,
    add_admin,
)
from tests.support.browser import CHROMIUM, CHROMIUM_ARGS

pytestmark = [pytest.mark.integration, pytest.mark.browser]

UI_TIMEOUT = 15_000  # ms


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
        r"^source .* must be a git URL \(https://, ssh:// or git@host:path\) or a local",
    ),
    UiCase(
        "app-source-upload-pack",
        "app",
        "source",
        "--upload-pack=touch /tmp/pwn",
        r"^source .* must be a git URL \(https://, ssh:// or git@host:path\) or a local",
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
