"""The worker around the engine, on a temporary database: the plan it builds from
the services, what the DbJournal records, rollback eligibility before any server
is touched, and the scheduler's standby stop (fake servers, fake build)."""

from __future__ import annotations

import functools
import subprocess
from datetime import UTC, datetime, timedelta

import pytest

from rxpanel.deploy import engine
from rxpanel.deploy.commands import lock
from rxpanel.deploy.remote import Result
from rxpanel.models import StandbyStop
from rxpanel.services import Conflict, apps, deployments, placements, releases, servers, standbys
from rxpanel.validate import ValidationError
from rxpanel.worker import hosts, journal, plans, runs
from tests.unit.deploy.fakes import COMMIT, FakeBuilder, Fleet


@pytest.fixture
def app(home, tmp_path):
    key = tmp_path / "key"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    servers.add(servers.ServerInput(name="s1", host="127.0.0.1"), key.read_text())
    return apps.add(
        apps.AppInput(
            name="demo",
            server="s1",
            source="https://git.example/src.git",
            url="http://127.0.0.1:9000",
            env={"TOKEN": "very-secret-token"},
        )
    )


@pytest.fixture
def fleet(monkeypatch, tmp_path):
    fleet = Fleet()
    fake = functools.partial(engine.execute, connect=fleet.connect, builder=FakeBuilder(tmp_path))
    monkeypatch.setattr(runs.engine, "execute", fake)
    monkeypatch.setattr(
        hosts,
        "connect_server",
        lambda server: fleet.connect(
            plans.target_of(server, {}, primary=False), [], lambda key: None
        ),
    )
    return fleet


def deploy(app, kind="deploy", ref=None, version=None):
    if version:  # another env makes another build
        apps.set_env("demo", {"VERSION": version})
    deployments.trigger(app.id, kind=kind, ref=ref, trigger="cli", by="me")
    return runs.execute(deployments.claim(app.id))


def test_the_plan_carries_what_the_engine_needs(app):
    dep = deployments.trigger(app.id, trigger="cli", by="me")
    plan = plans.plan_of(deployments.claim(app.id))
    assert plan.deployment_id == dep.id and plan.kind == "deploy"
    assert plan.owner.startswith(f"deployment #{dep.id} (")
    assert plan.env == {"TOKEN": "very-secret-token"}
    [target] = plan.targets
    assert (target.name, target.host, target.primary) == ("s1", "127.0.0.1", True)
    assert target.private_key.startswith("-----BEGIN OPENSSH PRIVATE KEY-----")
    [placed] = apps.placements(app.id)
    assert dict(target.ports) == placed.ports
    assert placed.ports["blue"] not in target.spare_ports and target.spare_ports
    assert plan.reusable("no such key") is None
    assert plan.finished(dep.id) is False
    assert plan.app.shared_paths == ()


def test_declared_shared_paths_are_validated_stored_and_planned(app):
    current = {k: v for k, v in apps.public(app).items() if k in apps.SETTINGS}
    changed = {**current, "shared_paths": "notes.db, media/  notes.db"}
    apps.update(
        "demo",
        apps.AppInput(
            name="demo",
            server="s1",
            source="https://git.example/src.git",
            url="http://127.0.0.1:9000",
            **changed,
        ),
    )
    assert apps.public(apps.get("demo"))["shared_paths"] == "notes.db media/"
    deployments.trigger(app.id, trigger="cli", by="me")
    assert plans.plan_of(deployments.claim(app.id)).app.shared_paths == ("notes.db", "media/")
    # the panel's form, which does not show them, keeps them
    form = {
        "name": "demo",
        "server": "s1",
        "source": "https://git.example/src.git",
        "url": "http://127.0.0.1:9000",
    }
    apps.update("demo", apps.AppInput(**form, **current))
    assert apps.get("demo").shared_paths == "notes.db media/"
    with pytest.raises(ValidationError, match="shared path '../x.db'"):
        apps.update(
            "demo",
            apps.AppInput(
                name="demo",
                server="s1",
                source="https://git.example/src.git",
                url="http://127.0.0.1:9000",
                **{**changed, "shared_paths": "../x.db"},
            ),
        )


def test_a_deploy_is_recorded(app, fleet):
    first = deploy(app)
    assert first.status == "success", first.reason
    second = deploy(app, version="2")
    assert second.status == "success", second.reason

    app = apps.get_by_id(app.id)
    assert app.current_release_id == second.release_id and app.live_color == "green"
    assert releases.get(first.release_id).status == "good"
    assert second.commit == COMMIT
    lines = [row.line for row in deployments.logs_after(second.id)]
    assert lines[0].startswith("queued by me")
    assert "▶ checkout" in lines and lines[-1].startswith("success: release ")
    assert not any("very-secret-token" in line for line in lines)
    apps.set_env("demo", {"VERSION": None})
    again = deploy(app)  # the first build again: its release comes back, no build
    assert again.release_id == first.release_id, again.reason
    assert f"release {first.release_id} already holds this build: no build, no upload" in [
        row.line for row in deployments.logs_after(again.id)
    ]
    steps = [s.name for s in deployments.steps(second.id)]
    assert steps[0] == "checkout" and "health gate" in steps and steps[-2:] == ["finish", "cutover"]
    [row] = standbys.due(datetime.now(UTC) + timedelta(minutes=16))
    assert (row.color, row.release_id) == ("green", second.release_id)  # the latest switch
    assert standbys.due() == []  # not before its time


def test_a_rollback_is_refused_before_any_server_is_touched(app, fleet):
    done = deploy(app, kind="rollback")
    assert done.status == "failed"
    assert done.reason == "demo has never been deployed: nothing to roll back to"
    assert fleet.calls == {}


def test_a_rollback(app, fleet):
    first, second = deploy(app), deploy(app, version="2")
    fleet.answers[("s1", "reading the standby")] = Result(0, f"blue {first.release_id}\n", "")
    back = deploy(app, kind="rollback")
    assert back.status == "success", back.reason
    assert back.release_id == first.release_id
    assert apps.get_by_id(app.id).current_release_id == first.release_id
    assert releases.get(second.release_id).status == "good"


def test_log_lines_are_batched_and_all_written(app):
    dep = deployments.trigger(app.id, trigger="cli", by="me")
    rec = journal.DbJournal(dep.id, app.id)
    for n in range(journal.FLUSH_LINES * 2 + 7):
        rec.log(f"line {n}", "output", "build")
    rec.close()
    lines = [row.line for row in deployments.logs_after(dep.id)][1:]
    assert lines == [f"line {n}" for n in range(journal.FLUSH_LINES * 2 + 7)]


def test_due_standbys_are_stopped_and_forgotten(app, fleet):
    server = servers.get("s1")
    past = datetime.now(UTC) - timedelta(seconds=1)
    standbys.record(app.id, server.id, "blue", "R1", past)
    assert hosts.stop_due_standbys() == ["demo on s1: blue"]
    assert fleet.labels("s1") == ["stopping the standby"]
    assert standbys.due() == []


def test_a_locked_app_keeps_its_standby_for_the_next_round(app, fleet):
    server = servers.get("s1")
    standbys.record(app.id, server.id, "blue", "R1", datetime.now(UTC) - timedelta(seconds=1))
    fleet.answers[("s1", "stopping the standby")] = Result(lock.LOCKED_EXIT, "", "")
    assert hosts.stop_due_standbys() == []
    assert [r.release_id for r in standbys.due()] == ["R1"]


def test_a_later_switch_replaces_the_standby(app):
    server = servers.get("s1")
    soon = datetime.now(UTC)
    standbys.record(app.id, server.id, "blue", "R1", soon)
    standbys.record(app.id, server.id, "green", "R2", soon)
    [row] = standbys.due(soon + timedelta(seconds=1))
    assert isinstance(row, StandbyStop) and (row.color, row.release_id) == ("green", "R2")


def test_a_standby_of_a_deleted_app_is_dropped(app, fleet):
    server = servers.get("s1")
    standbys.record(app.id, server.id, "blue", "R1", datetime.now(UTC) - timedelta(seconds=1))
    apps.delete("demo")
    assert hosts.stop_due_standbys() == []
    assert standbys.due() == []
    assert fleet.calls == {}


def test_snapshots_are_listed_and_restored_on_the_primary_under_the_lock(app, fleet):
    from rxpanel.deploy.commands import snapshot
    from rxpanel.worker import snapshots

    name = "20261121T180102-ab12cd-20261201T235000Z-reflex.db"
    fleet.answers[("s1", "listing the snapshots")] = Result(0, f"junk\n{name}\n", "")
    listing = snapshots.list_snapshots(app)
    [found] = listing.snapshots
    assert (listing.server, listing.note) == ("s1", "")
    assert (found.release, found.taken, found.file) == (
        "20261121T180102-ab12cd",
        "20261201T235000Z",
        "reflex.db",
    )
    fleet.answers[("s1", "restoring")] = Result(0, "reflex.db restored\nalembic revision: b2\n", "")
    assert snapshots.restore(app, name) == snapshots.Restored("s1", "reflex.db restored", "b2")
    assert placements.db_revision(app.id) == "b2"
    layout = plans.layout_of(app, apps.targets(app)[0][0])
    assert fleet.labels("s1")[-3:] == ["taking the app lock", "restoring", "releasing the lock"]
    assert fleet.sent("s1", "restoring") == [snapshot.restore(layout, name)]
    with pytest.raises(ValidationError):
        snapshots.restore(app, "../../etc/passwd")


MIGRATIONS = {
    "alembic/versions/1_a.py": 'revision = "a1"\ndown_revision = None\n',
    "alembic/versions/2_b.py": 'revision: str = "b2"\ndown_revision: str | None = "a1"\n',
}


def use_builder(monkeypatch, fleet, tmp_path, files) -> None:
    builder = FakeBuilder(tmp_path)
    builder.backend_files = files
    fake = functools.partial(engine.execute, connect=fleet.connect, builder=builder)
    monkeypatch.setattr(runs.engine, "execute", fake)


def log_of(dep) -> list[str]:
    return [r.line for r in deployments.logs_after(dep.id)]


def test_a_release_records_its_heads_and_the_primary_its_database_revision(
    app, fleet, monkeypatch, tmp_path
):
    use_builder(monkeypatch, fleet, tmp_path, MIGRATIONS)
    done = deploy(app)
    assert done.status == "success", done.reason
    rel = releases.get(done.release_id)
    assert (rel.schema_heads, rel.database) == ("b2", "")
    assert placements.db_revision(app.id) == "b2"
    assert not any("no snapshot" in line for line in log_of(done))


def test_a_server_database_gets_no_snapshot_and_says_so_once(app, fleet, monkeypatch, tmp_path):
    from rxpanel import actions
    from rxpanel.actions import Actor

    current = {k: v for k, v in apps.public(app).items() if k in apps.SETTINGS}
    shared = {**current, "shared_paths": "reflex.db"}  # a SQLite file it would snapshot
    site = {
        "name": "demo",
        "server": "s1",
        "source": "https://git.example/src.git",
        "url": "http://127.0.0.1:9000",
    }
    apps.update("demo", apps.AppInput(**site, **shared))
    use_builder(monkeypatch, fleet, tmp_path, MIGRATIONS)
    url = "postgresql+psycopg://shop:hunter2@db.internal:5432/shop"
    apps.set_env("demo", {"DB_URL": url})
    done = deploy(app)
    assert done.status == "success", done.reason
    note = "the database is PostgreSQL at db.internal:5432: rxpanel takes no snapshot; its backups are yours"
    lines = log_of(done)
    assert lines.count(note) == 1
    assert lines.index(note) < next(i for i, ln in enumerate(lines) if ln.startswith("✓ migrate"))
    assert not any("hunter2" in line for line in lines)
    assert "snapshotting the database" not in fleet.labels("s1")
    assert "reflex db migrate" in fleet.labels("s1")
    assert releases.get(done.release_id).database == "PostgreSQL at db.internal:5432"
    before = len(fleet.labels("s1"))
    listing = actions.list_snapshots("demo", Actor.cli())
    assert (listing.snapshots, listing.note) == ([], note)
    with pytest.raises(Conflict, match="takes no snapshot"):
        actions.restore_snapshot(
            "demo", "20261121T180102-ab12cd-20261201T235000Z-reflex.db", Actor.cli()
        )
    assert len(fleet.labels("s1")) == before  # nothing was run on the server


def test_restore_through_the_use_case_is_audited_and_refused_while_locked(app, fleet):
    from rxpanel import actions
    from rxpanel.actions import Actor
    from rxpanel.services import Forbidden, audit

    name = "20261121T180102-ab12cd-20261201T235000Z-reflex.db"
    viewer = Actor.user("val", "viewer")
    with pytest.raises(Forbidden):
        actions.restore_snapshot("demo", name, viewer)
    fleet.answers[("s1", "taking the app lock")] = Result(
        lock.LOCKED_EXIT, "", "locked by: deployment #7 (host:1)\n"
    )
    with pytest.raises(Conflict, match="locked on s1 by deployment #7 .host:1.: restore when"):
        actions.restore_snapshot("demo", name, Actor.user("ada", "deployer"))
    assert "restoring" not in fleet.labels("s1")
    del fleet.answers[("s1", "taking the app lock")]
    fleet.answers[("s1", "restoring")] = Result(
        0, f"reflex.db restored from .snapshots/{name}\n", ""
    )
    done = actions.restore_snapshot("demo", name, Actor.user("ada", "deployer"))
    assert (done.server, done.revision) == ("s1", None)
    rows = [(e.actor, e.action, e.outcome) for e in audit.records(action="db.restore")]
    assert rows[:3] == [
        ("ada", "db.restore", "ok"),
        ("ada", "db.restore", "refused"),
        ("val", "db.restore", "refused"),
    ]
