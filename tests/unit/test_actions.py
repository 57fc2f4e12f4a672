"""The use cases (rxpanel.actions): each refuses before anything is queued or a
server is touched; every edge maps the refusal by its type (the API's status,
the CLI's exit code); the API answers real JSON types."""

from __future__ import annotations

import subprocess
from datetime import timedelta

import pytest
from starlette.testclient import TestClient

from rxpanel import actions, errors
from rxpanel.actions import Actor, _host
from rxpanel.models import utcnow
from rxpanel.services import apps, audit, deployments, releases, servers, tokens, users

ACTOR = Actor.user("ada", "admin", "10.0.0.1")


@pytest.fixture
def shop(home, tmp_path):
    key = tmp_path / "k"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    servers.add(servers.ServerInput(name="s1", host="127.0.0.1"), key.read_text())
    servers.add(servers.ServerInput(name="s2", host="127.0.0.2"), key.read_text())
    return apps.add(
        apps.AppInput(
            name="shop", server="s1", source="https://git.example/src.git", url="http://shop.x"
        )
    )


@pytest.fixture
def host_calls(monkeypatch):
    """Host work, recorded instead of done."""
    calls = []
    monkeypatch.setattr(_host, "remove_app", lambda *a, **kw: calls.append((a, kw)) or ["done"])
    return calls


def release(app, rid: str, status: str, hours_ago: float = 1, **fields):
    return releases.create(
        id=rid,
        app_id=app.id,
        commit="c" * 40,
        build_key=rid,
        req_hash="",
        env_enc="",
        status=status,
        live_at=utcnow() - timedelta(hours=hours_ago),
        **fields,
    )


def deployed(app):
    """shop with v1 (good, the one before), v2 (live), v0 (bad), vr (removed)."""
    release(app, "20260101T000001-aaaa", "good", 3)
    release(app, "20260101T000002-bbbb", "new", 2)
    apps.set_live(app.id, "20260101T000002-bbbb", "blue")
    release(app, "20260101T000000-cccc", "bad", 5)
    release(app, "20260101T000003-dddd", "good", 4, removed_at=utcnow())
    return apps.get(app.name)


def queued(app) -> list:
    return [d for d in deployments.for_app(app.id) if d.status == "queued"]


def test_a_rollback_of_an_app_never_deployed_is_refused_before_queuing(shop):
    with pytest.raises(errors.Conflict, match="never been deployed"):
        actions.request_rollback("shop", ACTOR)
    assert queued(shop) == []
    assert audit.query(action="rollback")[0].outcome == "refused"


@pytest.mark.parametrize(
    "to, error, says",
    [
        ("20260101T000002-bbbb", errors.Conflict, "already live"),
        ("20260101T000003-dddd", errors.Conflict, "removed from the server by retention"),
        ("20260101T000000-cccc", errors.Invalid, "only a kept good release"),
        ("20260101T000009-eeee", errors.NotFound, "no release"),
    ],
)
def test_a_rollback_that_could_not_succeed_is_refused_before_queuing(shop, to, error, says):
    app = deployed(shop)
    with pytest.raises(error, match=says):
        actions.request_rollback(app.name, ACTOR, to)
    assert queued(app) == []


def test_a_rollback_with_no_previous_good_release_is_refused(shop):
    release(shop, "20260101T000002-bbbb", "new")
    apps.set_live(shop.id, "20260101T000002-bbbb", "blue")
    with pytest.raises(errors.Conflict, match="no previous good release"):
        actions.request_rollback("shop", ACTOR)


def test_an_eligible_rollback_is_queued_and_audited_with_its_actor(shop):
    app = deployed(shop)
    asked = actions.request_rollback(app.name, ACTOR)
    assert asked.release.id == "20260101T000001-aaaa"
    dep = deployments.get(asked.deployment.id)
    assert (dep.kind, dep.status, dep.trigger, dep.triggered_by) == (
        "rollback",
        "queued",
        "ui",
        "ada",
    )
    event = audit.query(action="rollback")[0]
    assert (event.actor, event.address, event.outcome) == ("ada", "10.0.0.1", "ok")


def test_release_records_say_which_can_come_back(shop):
    app = deployed(shop)
    shown = {r.id: (r.current, r.can_rollback) for r in releases.records(app)}
    assert shown == {
        "20260101T000002-bbbb": (True, False),
        "20260101T000001-aaaa": (False, True),
        "20260101T000000-cccc": (False, False),
    }  # the removed one only with_removed
    assert len(releases.records(app, with_removed=True)) == 4


def test_removing_an_app_with_a_queued_deployment_touches_no_server(shop, host_calls):
    app = deployed(shop)
    actions.request_deploy(app, ACTOR)
    with pytest.raises(errors.Conflict, match="in progress"):
        actions.remove_app("shop", ACTOR, purge=True)
    assert host_calls == []
    assert apps.get("shop")


def test_removing_an_app_stops_it_on_its_servers_then_forgets_it(shop, host_calls):
    deployed(shop)
    assert actions.remove_app("shop", Actor.cli()) == ["done"]
    assert len(host_calls) == 1
    with pytest.raises(errors.NotFound):
        apps.get("shop")
    assert audit.query(action="app.delete")[0].actor.startswith("cli:")


def test_detaching_the_primary_or_a_stranger_touches_no_server(shop, host_calls):
    deployed(shop)
    with pytest.raises(errors.Conflict, match="primary server"):
        actions.detach_server("shop", "s1", ACTOR)
    with pytest.raises(errors.NotFound, match="does not deploy to s2"):
        actions.detach_server("shop", "s2", ACTOR)
    assert host_calls == []
    apps.add_server("shop", "s2")
    actions.detach_server("shop", "s2", ACTOR)
    assert len(host_calls) == 1 and host_calls[0][1]["server_name"] == "s2"


def test_a_server_check_is_audited_with_its_outcome(shop, monkeypatch):
    from rxpanel.worker.hosts import CheckItem

    items = [CheckItem("SSH login", True, "ok"), CheckItem("nginx", False, "missing")]
    monkeypatch.setattr(_host, "check_server", lambda server: iter(items))
    assert [i.label for i in actions.check_server("s1", ACTOR)] == ["SSH login", "nginx"]
    assert audit.query(action="server.check")[0].outcome == "failed"
    with pytest.raises(errors.NotFound):
        next(actions.check_server("nope", ACTOR))


# -- the edges map by type ---------------------------------------------------------


@pytest.fixture
def api(shop):
    from rxpanel.api import api as app

    ada = users.create("ada", "password-ada", "admin")
    client = TestClient(app)
    client.headers["Authorization"] = f"Bearer {tokens.issue(ada, 'ci', 'admin')[1]}"
    return client


def test_the_api_maps_refusals_by_type(api, shop):
    never = api.post("/api/v1/apps/shop/rollback", json={})
    assert never.status_code == 409 and "never been deployed" in never.json()["error"]
    deployed(shop)
    bad = api.post("/api/v1/apps/shop/rollback", json={"to": "20260101T000000-cccc"})
    assert bad.status_code == 422
    unknown = api.post("/api/v1/apps/shop/rollback", json={"to": "20260101T000009-eeee"})
    assert unknown.status_code == 404
    assert api.post("/api/v1/apps/shop/rollback", json={"to": "x;id"}).status_code == 400
    assert api.post("/api/v1/apps/shop/rollback", json={}).status_code == 202
    assert queued(shop)[0].kind == "rollback"


def test_the_api_answers_real_json_types(api, shop):
    deployed(shop)
    app = api.get("/api/v1/apps/shop").json()
    assert isinstance(app["port_blue"], int) and isinstance(app["keep"], int)
    assert app["servers"] == ["s1"] and app["color"] == "blue"
    rels = {r["id"]: r for r in api.get("/api/v1/apps/shop/releases").json()}
    assert rels["20260101T000001-aaaa"]["can_rollback"] is True
    assert rels["20260101T000002-bbbb"]["current"] is True
    assert rels["20260101T000002-bbbb"]["can_rollback"] is False
    live_at = rels["20260101T000002-bbbb"]["live_at"]
    assert live_at[4] == "-" and "T" in live_at  # ISO-8601
    dep_id = api.post("/api/v1/apps/shop/deploy", json={}).json()["deployment"]
    deps = api.get("/api/v1/apps/shop/deployments").json()
    assert deps[0]["id"] == dep_id and deps[0]["started"] is None and deps[0]["duration"] is None
    one = api.get(f"/api/v1/deployments/{dep_id}").json()
    assert isinstance(one["logs"][0]["id"], int) and one["steps"] == []
    health = api.get("/api/v1/apps/shop/health").json()
    assert health["uptime_24h"] is None and health["auto_rollback"] is True
    assert health["incidents"] == []


def test_the_cli_exits_2_for_refused_input_and_1_for_a_refusal_by_state(shop, capsys):
    from rxpanel.cli import main

    assert main(["rollback", "shop", "--to", "../etc"]) == 2
    assert main(["rollback", "shop"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1] == "rxpanel: shop has never been deployed: nothing to roll back to"
    assert queued(shop) == []


def test_the_remote_cli_reads_the_typed_api(api, shop, capsys):
    import argparse

    from rxpanel import client
    from rxpanel.cli import deploys

    deployed(shop)
    dep_id = api.post("/api/v1/apps/shop/deploy", json={}).json()["deployment"]
    panel = object.__new__(client.Panel)
    panel.client = api
    panel.client.base_url = "http://testserver/api/v1"
    deploys.releases_remote(argparse.Namespace(app="shop", json=False), panel)
    deploys.deployments_remote(argparse.Namespace(app="shop", json=False), panel)
    deploys.logs_remote(argparse.Namespace(id=dep_id), panel)
    out = capsys.readouterr().out
    assert "* 20260101T000002-bbbb" in out and "(removed)" not in out
    assert f"{dep_id}  deploy  queued  api" in out
    assert "queued by ada (api)" in out


@pytest.mark.parametrize(
    "args, says",
    [
        (["server", "list"], "s1"),
        (["app", "list", "--json"], '"servers": ['),
        (["releases", "shop"], "* 20260101T000002-bbbb"),
        (["deployments", "shop", "--json"], '"kind": "deploy"'),
        (["logs", "1"], "queued by"),
        (["deliveries", "shop", "--json"], "[]"),
        (["audit", "--json"], '"action": "deploy"'),
    ],
)
def test_the_cli_reads_the_typed_records(shop, capsys, args, says):
    from rxpanel.cli import main

    deployed(shop)
    actions.request_deploy("shop", Actor.cli())
    assert main(args) == 0
    assert says in capsys.readouterr().out


def test_a_use_case_refuses_a_role_below_it_whoever_calls_it(shop, host_calls):
    viewer = Actor.user("vic", "viewer")
    for attempt in (
        lambda: actions.request_deploy("shop", viewer),
        lambda: actions.request_rollback("shop", viewer),
        lambda: actions.remove_app("shop", viewer),
        lambda: next(actions.check_server("s1", viewer)),
    ):
        with pytest.raises(errors.Forbidden, match="needs the deployer role"):
            attempt()
    assert queued(shop) == [] and host_calls == [] and apps.get("shop")
    assert {e.outcome for e in audit.query(actor="vic")} == {"refused"}


# -- rollback and schema -------------------------------------------------------------

OLD, NEW = "20260101T000001-aaaa", "20260101T000002-bbbb"


def schema_deployed(app, db_revision: str | None = "b2"):
    """shop with v1 at head a1 (good) and v2 at head b2 (live), the database at b2."""
    from rxpanel.services import placements

    release(app, OLD, "good", 3, schema_heads="a1")
    release(app, NEW, "live", 2, schema_heads="b2")
    apps.set_live(app.id, NEW, "blue")
    if db_revision is not None:
        placements.set_db_revision(app.id, None, db_revision)
    return apps.get(app.name)


def rel(rid: str, heads: str):
    from rxpanel.models import Release

    return Release(id=rid, app_id=1, commit="c", build_key="k", req_hash="", env_enc="",
                   schema_heads=heads)  # fmt: skip


@pytest.mark.parametrize(
    "target, db, note",
    [
        (rel(OLD, "a1"), "a1", ""),  # the same schema
        (rel(OLD, "a1"), None, ""),  # not known (never migrated since the panel records it)
        (rel(OLD, "a1"), "b2", releases.NEWER),  # a newer release migrated it
        (rel(OLD, ""), "b2", releases.NEWER),  # the target has no migrations at all
        (rel(NEW, "b2"), "a1", releases.OLDER),  # restored from before NEW's migration
        (rel(OLD, "a1"), "zz", releases.OTHER),  # no release of ours ends there
        (rel(OLD, "a1 x9"), "b2", releases.NEWER),  # two heads
    ],
)
def test_the_schema_note_of_a_rollback_target(target, db, note):
    others = [rel(OLD, "a1"), rel(NEW, "b2"), target]
    assert releases.schema_note(target, db, others) == note


def test_a_rollback_to_an_older_schema_asks_first_and_goes_when_forced(shop):
    app = schema_deployed(shop)
    shown = {r.id: r.schema_note for r in releases.records(app)}
    assert shown == {OLD: releases.NEWER, NEW: ""}  # the current one says nothing
    with pytest.raises(actions.SchemaWarning) as refused:
        actions.request_rollback("shop", ACTOR)
    assert refused.value.warning == (
        "schema newer than this release: rolling back keeps the newer database (the database "
        f"is at alembic revision b2, release {OLD} at a1); a rollback never touches the data"
    )
    assert isinstance(refused.value, errors.Conflict) and queued(shop) == []
    assert audit.query(action="rollback")[0].outcome == "refused"
    asked = actions.request_rollback("shop", ACTOR, force=True)
    assert asked.release.id == OLD and queued(shop)[0].kind == "rollback"
    assert "confirmed: schema newer" in audit.query(action="rollback")[0].detail


def test_a_rollback_to_the_same_schema_does_not_ask(shop):
    app = schema_deployed(shop, db_revision="a1")
    assert actions.request_rollback(app, ACTOR).release.id == OLD


def test_the_api_answers_a_schema_warning_with_409_unless_forced(api, shop):
    schema_deployed(shop)
    asked = api.post("/api/v1/apps/shop/rollback", json={})
    assert asked.status_code == 409
    assert asked.json()["warning"].startswith(releases.NEWER)
    assert asked.json()["error"].endswith('send "force": true to roll back anyway')
    assert api.post("/api/v1/apps/shop/rollback", json={"force": "yes"}).status_code == 400
    assert api.post("/api/v1/apps/shop/rollback", json={"force": True}).status_code == 202
    rels = {r["id"]: r for r in api.get("/api/v1/apps/shop/releases").json()}
    assert (rels[OLD]["schema_heads"], rels[OLD]["schema_note"]) == ("a1", releases.NEWER)


def test_the_cli_prints_the_warning_and_asks_for_yes(shop, monkeypatch, capsys):
    from rxpanel import cli
    from rxpanel.cli import deploys

    schema_deployed(shop)
    monkeypatch.setattr(deploys, "_run_and_follow", lambda app_id, dep_id: 0)
    assert cli.main(["rollback", "shop"]) == 2
    err = capsys.readouterr().err
    assert releases.NEWER in err and "add --yes to roll back anyway" in err
    assert queued(shop) == []
    assert cli.main(["rollback", "shop", "--yes"]) == 0
    assert queued(shop)[0].kind == "rollback"
