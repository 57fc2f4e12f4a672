"""Team and security: login limits, the append-only audit log, API tokens and
the HTTP API's checks (through Starlette's test client, on a temporary database)."""

from __future__ import annotations

import sqlite3
import subprocess
from datetime import timedelta

import pytest
from sqlalchemy.exc import DatabaseError
from starlette.testclient import TestClient

from rxpanel import db
from rxpanel.models import AuditEvent, utcnow
from rxpanel.services import ServiceError, apps, audit, servers, tokens, users
from rxpanel.validate import ValidationError


@pytest.fixture
def team(home):
    return {
        "admin": users.create("ada", "password-ada", "admin"),
        "deployer": users.create("dan", "password-dan", "deployer"),
        "viewer": users.create("vic", "password-vic", "viewer"),
    }


# the login limits (slow down, never lock out) are in test_logins.py


def test_the_audit_log_is_append_only(team, home):
    audit.record("ada", "server.add", "server:web1", address="10.0.0.1")
    with db.session() as s:
        event = s.exec(audit.select(AuditEvent)).first()
    with pytest.raises(DatabaseError, match="append-only"), db.session() as s:
        event.actor = "mallory"
        s.add(event)
    raw = sqlite3.connect(home / "rxpanel.db", isolation_level=None)  # autocommit
    try:
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            raw.execute("delete from auditevent")
    finally:
        raw.close()
    assert [e.actor for e in audit.query()] == ["ada"]


def test_audit_filters(team):
    audit.record("ada", "deploy", "app:shop")
    audit.record("dan", "deploy", "app:blog", outcome="refused")
    audit.record("dan", "login", "user:dan")
    assert [e.target for e in audit.query(action="deploy")] == ["app:blog", "app:shop"]
    assert [e.action for e in audit.query(actor="dan", outcome="refused")] == ["deploy"]
    assert audit.query(target="shop")[0].actor == "ada"
    assert audit.query(since=utcnow() + timedelta(minutes=1)) == []


def test_tokens_are_shown_once_hashed_scoped_and_revocable(team, home):
    token, plain = tokens.issue(team["deployer"], "ci", "deploy", expires_days=30)
    assert plain.startswith("rxp_") and plain.encode() not in (home / "rxpanel.db").read_bytes()
    user, role = tokens.authenticate(plain)
    assert (user.username, role) == ("dan", "deployer")
    _, read = tokens.issue(team["admin"], "dashboards", "read")
    assert tokens.authenticate(read)[1] == "viewer"  # an admin's read token reads only
    with pytest.raises(ServiceError, match="cannot issue"):
        tokens.issue(team["viewer"], "x", "deploy")
    with pytest.raises(ValidationError):
        tokens.issue(team["admin"], "x", "root")
    tokens.revoke(token.id, team["deployer"])
    assert tokens.authenticate(plain) is None
    assert tokens.authenticate("rxp_made-up") is None and tokens.authenticate("") is None


def test_expired_tokens_and_disabled_users_are_refused(team):
    token, plain = tokens.issue(team["admin"], "old", "admin", expires_days=1)
    with db.session() as s:
        row = s.get(type(token), token.id)
        row.expires_at = utcnow() - timedelta(seconds=1)
        s.add(row)
    assert tokens.authenticate(plain) is None
    _, other = tokens.issue(team["deployer"], "ci", "deploy")
    users.admin_update(team["deployer"].id, disabled=True)
    assert tokens.authenticate(other) is None


def test_the_last_admin_stays(team):
    with pytest.raises(ServiceError, match="last admin"):
        users.admin_update(team["admin"].id, role="viewer")
    users.admin_update(team["deployer"].id, role="admin")
    users.admin_update(team["admin"].id, role="viewer")  # now there is another


def test_changing_ones_own_password(team):
    with pytest.raises(ServiceError, match="current password"):
        users.set_password(team["viewer"].id, "wrong", "new-password-1")
    users.set_password(team["viewer"].id, "password-vic", "new-password-1")
    assert users.authenticate("vic", "new-password-1") is not None
    assert users.authenticate("vic", "password-vic") is None


# -- the HTTP API ----------------------------------------------------------------


@pytest.fixture
def api(team, tmp_path):
    from rxpanel.api import api as app

    key = tmp_path / "k"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    servers.add(servers.ServerInput(name="s1", host="127.0.0.1"), key.read_text())
    apps.add(
        apps.AppInput(
            name="shop",
            server="s1",
            source="https://git.example/src.git",
            url="http://shop.example",
        )
    )
    client = TestClient(app)
    client.tokens = {
        role: tokens.issue(
            team[role], role, {"admin": "admin", "deployer": "deploy", "viewer": "read"}[role]
        )[1]
        for role in team
    }
    return client


def as_(api, role):
    return {"Authorization": f"Bearer {api.tokens[role]}"} if role else {}


ROUTES = [
    ("GET", "/api/v1/whoami"),
    ("GET", "/api/v1/servers"),
    ("GET", "/api/v1/apps"),
    ("GET", "/api/v1/apps/shop"),
    ("GET", "/api/v1/apps/shop/releases"),
    ("GET", "/api/v1/apps/shop/deployments"),
    ("GET", "/api/v1/apps/shop/health"),
    ("POST", "/api/v1/apps/shop/deploy"),
    ("POST", "/api/v1/apps/shop/rollback"),
    ("GET", "/api/v1/deployments/1"),
    ("GET", "/api/v1/audit"),
]


@pytest.mark.parametrize(("method", "path"), ROUTES)
def test_every_api_route_wants_a_token(api, method, path):
    for headers in ({}, {"Authorization": "Bearer rxp_wrong"}, {"Authorization": "Basic x"}):
        assert api.request(method, path, headers=headers).status_code == 401


def test_roles_are_enforced_and_refusals_audited(api):
    assert api.get("/api/v1/apps", headers=as_(api, "viewer")).json()[0]["name"] == "shop"
    refused = api.post("/api/v1/apps/shop/deploy", headers=as_(api, "viewer"), json={})
    assert refused.status_code == 403
    assert api.get("/api/v1/audit", headers=as_(api, "deployer")).status_code == 403
    queued = api.post(
        "/api/v1/apps/shop/deploy", headers=as_(api, "deployer"), json={"ref": "main"}
    )
    assert queued.status_code == 202 and queued.json()["status"] == "queued"
    log = api.get("/api/v1/audit", headers=as_(api, "admin")).json()
    assert any(
        e["action"] == "deploy" and e["actor"] == "api:dan" and e["outcome"] == "ok" for e in log
    )
    refusals = {(e["actor"], e["action"]) for e in log if e["outcome"] == "refused"}
    assert refusals == {("api:vic", "api.app_deploy"), ("api:dan", "api.audit_list")}


@pytest.mark.parametrize("body", [{"ref": "main;id"}, {"ref": "--upload-pack=x"}, {"ref": "a\nb"}])
def test_hostile_refs_are_refused(api, body):
    r = api.post("/api/v1/apps/shop/deploy", headers=as_(api, "deployer"), json=body)
    assert r.status_code == 400


def test_malformed_bodies_and_names(api):
    h = as_(api, "deployer")
    assert api.post("/api/v1/apps/shop/deploy", headers=h, content=b"[1]").status_code == 400
    assert api.post("/api/v1/apps/shop/deploy", headers=h, content=b"{nope").status_code == 400
    big = b'{"ref": "' + b"a" * 70_000 + b'"}'
    assert api.post("/api/v1/apps/shop/deploy", headers=h, content=big).status_code == 413
    assert api.get("/api/v1/apps/Nope;id", headers=h).status_code == 400
    assert api.get("/api/v1/apps/nope", headers=h).status_code == 404


@pytest.mark.parametrize("body", [{"to": 0}, {"to": ""}, {"to": []}, {"ref": False}])
def test_present_but_empty_fields_are_refused_not_ignored(api, body):
    path = "/api/v1/apps/shop/rollback" if "to" in body else "/api/v1/apps/shop/deploy"
    assert api.post(path, headers=as_(api, "deployer"), json=body).status_code == 400


@pytest.mark.parametrize(
    "path", ["/api/v1/apps/..%2F..%2Fetc/deploy", "/api/v1/nope", "/api/hooks/a/b"]
)
def test_unknown_api_paths_answer_json(api, path):
    r = api.post(path, headers=as_(api, "deployer"), json={})
    assert r.status_code == 404 and r.json()["error"] == "no such API route"


def test_a_huge_name_gets_a_short_error(team):
    with pytest.raises(ValidationError) as refused:
        apps.get("x" * 5000)
    assert len(str(refused.value)) < 200
