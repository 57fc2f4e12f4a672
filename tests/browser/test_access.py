"""Nothing without credentials: every page of the dashboard shows a visitor the
login (or first-run) form and none of the panel's data, even while its page
handlers run; every HTTP API route answers 401 without a valid token, and the
webhook 401 without a signature.

The data a visitor must not see is whatever the panel holds when this runs (the
dashboard story's app, servers and users, when it ran first) plus a probe server
and app added here (never deployed, so removing them touches no server) and
removed afterwards, so the other stories find the panel as they left it."""

from __future__ import annotations

import re
import secrets
import sqlite3
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from playwright.sync_api import expect

from tests.conftest import SAMPLE_APP, free_port

pytestmark = pytest.mark.browser

PROBE_SERVER, PROBE_HOST = "access-probe", "198.51.100.73"
PROBE_APP = "access-probe-app"
MADE_UP_APP, MADE_UP_DEPLOYMENT = "no-such-app", 987654
FORMS = "#login-form, #setup-form"
DATA_CONTAINERS = (
    "#apps-table, #apps-list, #servers-table, #users-table, #tokens-table, #audit-table, "
    "#releases-table, #history-table, #live-status, #deployment-status, #full-log, #user-menu"
)


@dataclass
class Known:
    """What is in the panel's database now."""

    apps: list[str]
    servers: list[str]
    hosts: list[str]
    users: list[str]
    token_prefixes: list[str]
    deployments: list[int]
    texts: list[str] = field(default_factory=list)  # strings no visitor may see

    admins: list[str] = field(default_factory=list)

    @property
    def needs_setup(self) -> bool:
        return not self.admins


def _read(home: Path) -> Known:
    db = sqlite3.connect(f"file:{home / 'rxpanel.db'}?mode=ro", uri=True)
    try:
        column = lambda sql: [row[0] for row in db.execute(sql)]  # noqa: E731
        known = Known(
            apps=column("select name from app order by name"),
            servers=column("select name from server order by name"),
            hosts=column("select host from server"),
            users=column("select username from user"),
            admins=column("select username from user where role = 'admin'"),
            token_prefixes=column("select prefix from apitoken"),
            deployments=column("select id from deployment order by id desc"),
        )
    finally:
        db.close()
    known.texts = sorted(
        {*known.apps, *known.servers, *known.token_prefixes}
        | {h for h in known.hosts if h not in ("127.0.0.1", "localhost")}
        # the first-run setup token, while there is one, reaches no browser either
        | (
            {(home / "setup-token").read_text().strip()}
            if (home / "setup-token").exists()
            else set()
        )
    )
    return known


def _key_file(path: Path) -> Path:
    key = Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.OpenSSH,
        serialization.NoEncryption(),
    )
    path.write_bytes(key)
    path.chmod(0o600)
    return path


@pytest.fixture(scope="module")
def known(panel, tmp_path_factory) -> Known:
    key = _key_file(tmp_path_factory.mktemp("access-key") / "id_ed25519")
    cli = panel.cli
    cli.ok("server", "add", PROBE_SERVER, "--host", PROBE_HOST, "--key", str(key))
    try:
        cli.ok(
            "app", "add", PROBE_APP, "--server", PROBE_SERVER, "--source", str(SAMPLE_APP),
            "--url", f"http://127.0.0.1:{free_port()}",
        )  # fmt: skip
        try:
            found = _read(panel.home)
            assert {PROBE_APP, PROBE_SERVER, PROBE_HOST} <= set(found.texts), found
            yield found
        finally:
            cli.ok("app", "remove", PROBE_APP)
    finally:
        cli.ok("server", "remove", PROBE_SERVER)


def _paths(known: Known) -> list[str]:
    """Every page route, with real names and ids and made-up ones in the slots."""
    from rxpanel.pages import PAGES

    fillers = {
        "name": [*known.apps, MADE_UP_APP],
        "id": [*[str(d) for d in known.deployments[:2]], str(MADE_UP_DEPLOYMENT)],
    }
    paths = []
    for route in sorted({spec["route"] for spec in PAGES}):
        slot = re.search(r"\[(\w+)\]", route)
        if slot is None:
            paths.append(route)
        else:
            paths += [route.replace(slot.group(0), v) for v in fillers[slot.group(1)]]
    return paths


def test_every_page_shows_a_visitor_only_the_login_form(panel, browser, known):
    paths = _paths(known)
    assert {"/", "/servers", "/apps", "/tokens", "/users", "/audit"} <= set(paths), paths
    assert any(p.startswith("/apps/") for p in paths) and any(
        p.startswith("/deployments/") for p in paths
    )
    form = "#setup-form" if known.needs_setup else "#login-form"
    visits = []  # (path, context, page, the websocket frames the panel sent it)
    try:
        for path in paths:
            context = browser.new_context(viewport={"width": 1280, "height": 860})
            context.set_default_timeout(30_000)
            page = context.new_page()
            frames: list[str] = []
            page.on("websocket", lambda ws, frames=frames: _collect(ws, frames))
            page.goto(panel.url + path)
            expect(page.locator(FORMS)).to_be_visible()
            expect(page.locator(form)).to_be_visible()
            visits.append((path, context, page, frames))
        _settle(lambda: sum(len(frames) for *_, frames in visits))
        for path, _context, page, frames in visits:
            assert frames, f"{path}: no websocket frame was observed"
            expect(page.locator(form), path).to_be_visible()
            expect(page.locator(DATA_CONTAINERS), path).to_have_count(0)
            # what the visitor typed in the URL (an app name in its slot) comes back
            # as router data: that is no leak, so it is cut out before looking
            typed = path.split("/")[2] if path.count("/") == 2 else ""
            html, text = _cut(page.content(), typed), page.inner_text("body")
            sent = [_cut(f, typed) for f in frames]
            for secret in known.texts:
                assert secret not in html, (path, secret)
                leaked = [f[:300] for f in sent if secret in f]
                assert not leaked, (path, secret, leaked)
            for user in known.users:
                assert not re.search(rf"\b{re.escape(user)}\b", text), (path, user)
            assert "Deployment #" not in text, path
    finally:
        for _path, context, *_ in visits:
            context.close()


def _cut(text: str, typed: str) -> str:
    return text.replace(typed, "") if typed else text


def _collect(ws, frames: list[str]) -> None:
    ws.on(
        "framereceived",
        lambda p: frames.append(p.decode(errors="replace") if isinstance(p, bytes) else p),
    )


def _settle(count, quiet: float = 1.0, limit: float = 15.0) -> None:
    """Wait until the panel has sent nothing for `quiet` seconds (`count()` frames
    so far): every page's on_load handlers (which refuse visitors) have answered."""
    deadline = time.monotonic() + limit
    seen, since = count(), time.monotonic()
    while time.monotonic() < deadline:
        time.sleep(0.1)
        if count() != seen:
            seen, since = count(), time.monotonic()
        elif time.monotonic() - since >= quiet:
            return


def _api_calls(known: Known) -> list[tuple[str, str]]:
    from rxpanel.apiv1 import ROUTES

    name = PROBE_APP
    dep = str(known.deployments[0] if known.deployments else MADE_UP_DEPLOYMENT)
    calls = []
    for route in ROUTES:
        path = re.sub(r"\{name\}", name, route.path)
        path = re.sub(r"\{id(:int)?\}", dep, path)
        assert "{" not in path, route.path
        calls += [(method, path) for method in sorted(route.methods - {"HEAD"})]
    return calls


WRONG = {
    "no credentials": {},
    "a made-up token": {"Authorization": f"Bearer rxp_{secrets.token_urlsafe(32)}"},
    "not a token": {"Authorization": "Bearer not-a-token"},
    "another scheme": {"Authorization": "Basic YWRhOmNvcnJlY3QtaG9yc2UtYmF0dGVyeQ=="},
    "a session cookie": {"Cookie": "rxpanel_session=" + secrets.token_urlsafe(32)},
}


def _deployments(home: Path) -> int:
    db = sqlite3.connect(f"file:{home / 'rxpanel.db'}?mode=ro", uri=True)
    try:
        return db.execute("select count(*) from deployment").fetchone()[0]
    finally:
        db.close()


def test_every_api_route_wants_a_valid_token(panel, known):
    calls = _api_calls(known)
    assert len(calls) >= 11, calls
    assert ("POST", f"/api/v1/apps/{PROBE_APP}/deploy") in calls
    before = _deployments(panel.home)
    with httpx.Client(base_url=panel.url, timeout=10) as http:
        for method, path in calls:
            for why, headers in WRONG.items():
                body = {"ref": "main"} if method == "POST" else None
                r = http.request(method, path, headers=headers, json=body)
                assert r.status_code == 401, (method, path, why, r.status_code, r.text)
                assert r.json() == {"error": "a valid API token is required"}, (path, why)
                assert r.headers.get("www-authenticate") == "Bearer", (path, why)
    assert _deployments(panel.home) == before


def test_the_webhook_wants_a_signature(panel, known):
    before = _deployments(panel.home)
    push = {"ref": "refs/heads/main", "after": "a" * 40}
    unsigned = {"X-GitHub-Event": "push", "X-GitHub-Delivery": "access-1"}
    wrong = {**unsigned, "X-Hub-Signature-256": "sha256=" + "0" * 64}
    with httpx.Client(base_url=panel.url, timeout=10) as http:
        for app in known.apps:  # the probe app among them
            for headers in ({}, unsigned, wrong):
                r = http.post(f"/api/hooks/{app}", json=push, headers=headers)
                assert r.status_code == 401, (app, headers, r.status_code, r.text)
                assert r.json()["status"] == "rejected", r.text
        # an unknown app: answered as an app that exists would be, and nothing queued
        for headers in ({}, unsigned, wrong):
            r = http.post(f"/api/hooks/{MADE_UP_APP}", json=push, headers=headers)
            known_r = http.post(f"/api/hooks/{known.apps[0]}", json=push, headers=headers)
            assert (r.status_code, r.json()) == (known_r.status_code, known_r.json()), r.text
    assert _deployments(panel.home) == before
