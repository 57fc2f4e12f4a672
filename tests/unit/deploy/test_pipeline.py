"""The deploy and rollback recipes against fake servers: every command sent is
recorded, results are scripted per label, the build is a fake that makes zips in
tmp_path, and the journal is kept in memory. No sshd, nginx or supervisord."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import threading

import pytest

from rxpanel.deploy import build, engine, states
from rxpanel.deploy.commands import (
    Host,
    account,
    composite,
    lock,
    nginx,
    release,
    shared,
    snapshot,
    standby,
    supervisor,
)
from rxpanel.deploy.commands import store as store_cmd
from rxpanel.deploy.plan import AppSettings, Plan, ReleaseInfo, TargetPlan
from rxpanel.deploy.remote import Result
from rxpanel.deploy.steps import upload
from tests.unit.deploy.fakes import COMMIT, FakeBuilder, FakeRemote, Fleet, MemoryJournal

NEW = "20261201T120000-abc123"  # the id the deploy gives its release
R0 = "20261101T120000-000000"  # good, the one before
R1 = "20261110T120000-111111"  # live on blue
OWNER = "deployment #7 (box:1)"


HOST = Host(deploy_root="/srv/rxpanel")


def target(name: str, number: int, host_key: str | None = "ssh-ed25519 PINNED") -> TargetPlan:
    return TargetPlan(
        server_id=number,
        name=name,
        host=f"10.0.0.{number}",
        port=22,
        user="deploy",
        private_key="KEY",
        host_key=host_key,
        paths=HOST,
        ports={"blue": 8100, "green": 8101},
        primary=number == 1,
        spare_ports=(8102, 8103),
    )


RELEASES = (
    ReleaseInfo(R0, "0" * 40, "good", "h0", "k0"),
    ReleaseInfo(R1, "1" * 40, "live", "h1", "k1"),
)


def plan(servers=("web1",), kind="deploy", **kw) -> Plan:
    app = AppSettings(
        id=1,
        name="demo",
        url="http://demo.example",
        source="/src/demo",
        branch="main",
        standby_minutes=15,
        drain_seconds=0,
        keep_releases=5,
        live_color="blue",
        current_release_id=R1,
    )
    fields = {
        "deployment_id": 7,
        "kind": kind,
        "owner": OWNER,
        "app": app,
        "env": {"SECRET": "s3cr3t"},
        "targets": tuple(target(n, i + 1) for i, n in enumerate(servers)),
        "releases": RELEASES,
    }
    return Plan(**{**fields, **kw})


@pytest.fixture(autouse=True)
def fixed_release_id(monkeypatch):
    monkeypatch.setattr(upload, "new_release_id", lambda: NEW)


LAYOUT = TargetPlan.layout(target("web1", 1), "demo")
SAME_ENV = build.env_hash({"SECRET": "s3cr3t"})  # the env of plan()
REQ = build.requirements_hash(b"reflex==0.8.0\n")

DEPLOY_TRACE = [
    "taking the app lock",
    "preparing the app directory",
    "making the app's Unix user",
    f"put /srv/rxpanel/demo/tmp/{REQ}.requirements.txt",  # the login's; then the app user's
    "creating the server venv",
    "checking free space",
    "put /srv/rxpanel/demo/tmp/k.backend.zip",
    "unpacking backend.zip",
    f"put /srv/rxpanel/demo/releases/{NEW}/env",
    f"put /srv/rxpanel/demo/releases/{NEW}/run.sh",
    f"put /srv/rxpanel/demo/releases/{NEW}/release.json.part",
    "giving the release to the app's user",
    "linking shared data",  # after the backend is there, before migrations use the data
    "reflex db migrate",
    "reading the standby",
    "put /srv/rxpanel/demo/tmp/rxpanel-demo-green.conf",
    "starting green",
    "health gate",
    "checking free space",
    "put /srv/rxpanel/demo/tmp/k.frontend.zip",
    "unpacking frontend.zip",
    "giving the frontend to nginx's group",
    "put /srv/rxpanel/demo/tmp/site.conf",
    "switching nginx",
    "public check",
    "finishing (standby, retention)",
    "moving open tabs",
    "releasing the lock",
]


def trace(fleet: Fleet, server: str) -> list[str]:
    return [f"put {c}" if label == "put" else label for label, c in fleet.calls[server]]


def execute(p: Plan, fleet: Fleet, builder: FakeBuilder, journal: MemoryJournal, **kw) -> str:
    return engine.execute(p, journal, connect=fleet.connect, builder=builder, **kw)


def test_the_recipes_are_lists_of_named_steps():
    assert engine.DEPLOY.names() == [
        "checkout",
        "build",
        "lock",
        "reuse",
        "server venv",
        "upload backend",
        "copy release",
        "app user",
        "state store",
        "link shared",
        "state check",
        "migrate",
        "start",
        "health gate",
        "upload frontend",
        "switch",
        "state reset",
        "public check",
        "finish",
        "cutover",
        "state reset again",
    ]
    assert engine.ROLLBACK.names() == [
        "choose",
        "lock",
        "present",
        "app user",
        "state store",
        "start",
        "health gate",
        "switch",
        "state reset",
        "public check",
        "finish",
        "cutover",
        "state reset again",
    ]


def test_a_deploy(tmp_path):
    fleet, journal = Fleet(), MemoryJournal()
    summary = execute(plan(), fleet, FakeBuilder(tmp_path), journal)

    assert summary == f"release {NEW} ({COMMIT[:12]}) is live on green"
    assert trace(fleet, "web1") == DEPLOY_TRACE
    assert fleet.sent("web1", "taking the app lock") == [lock.acquire(LAYOUT, OWNER)]
    assert fleet.sent("web1", "switching nginx") == [
        composite.switch(LAYOUT, "/srv/rxpanel/demo/tmp/site.conf", NEW, "green", "demo.example")
    ]
    assert fleet.sent("web1", "finishing (standby, retention)") == [
        composite.finish(LAYOUT, ("blue", R1), [], ["h0", "h1", REQ])
    ]
    assert fleet.sent("web1", "releasing the lock") == [lock.release(LAYOUT, OWNER)]
    assert fleet.sent("web1", "linking shared data") == [
        shared.link(LAYOUT, NEW, ["uploaded_files/"])
    ]

    steps = [name for name, status in journal.steps if status == "ok"]
    assert [s for s in steps if s != "build"] == [
        "checkout",
        "lock",
        "server venv",
        "upload backend",
        "link shared",
        "migrate",
        "start green",
        "health gate",
        "upload frontend",
        "switch",
        "public check",
        "finish",
        "cutover",
    ]
    assert "build" in steps
    text = journal.text()
    assert text[0] == "▶ checkout"
    assert any(line.startswith("✓ checkout (") and line.endswith(" s)") for line in text)
    assert "blue keeps release " + R1 + " warm for 15 min for instant rollback" in text
    assert text[-1] == "lock released"
    assert not any("s3cr3t" in line for line in text)

    assert journal.of("commit_resolved") == [(COMMIT,)]
    [(created, env)] = journal.of("release_created")
    assert (created.id, created.commit, created.req_hash, env) == (
        NEW,
        COMMIT,
        REQ,
        {"SECRET": "s3cr3t"},
    )
    assert journal.of("release_status") == [(NEW, "ready")]
    assert journal.of("went_live") == [(NEW, "green")]
    [(server_id, color, old, _until)] = journal.of("standby_until")
    assert (server_id, color, old) == (1, "blue", R1)
    assert journal.of("releases_removed") == [([],)]
    assert journal.of("host_key_seen") == []


def test_a_kept_build_goes_live_again_without_build_or_upload(tmp_path):
    fleet, journal, builder = Fleet(), MemoryJournal(), FakeBuilder(tmp_path)
    kept = ReleaseInfo(R0, COMMIT, "good", "h0", "k0", env_hash=SAME_ENV)
    execute(plan(reusable=lambda key: kept), fleet, builder, journal)
    assert builder.exports == 0
    assert trace(fleet, "web1") == [
        "taking the app lock",
        "check release",
        "making the app's Unix user",  # a release from before may be older than its user
        "giving the release to the app's user",
        "reading the standby",
        "put /srv/rxpanel/demo/tmp/rxpanel-demo-green.conf",
        "starting green",
        "health gate",
        "put /srv/rxpanel/demo/tmp/site.conf",
        "switching nginx",
        "public check",
        "finishing (standby, retention)",
        "moving open tabs",
        "releasing the lock",
    ]
    assert f"release {R0} already holds this build: no build, no upload" in journal.text()
    assert journal.of("release_used") == [(R0,)]
    assert journal.of("went_live") == [(R0, "green")]


def test_a_rollback_to_the_warm_standby(tmp_path):
    fleet, journal = Fleet(), MemoryJournal()
    fleet.answers[("web1", "reading the standby")] = Result(0, f"green {R0}\n", "")
    p = plan(kind="rollback", rollback_to=RELEASES[0])
    summary = execute(p, fleet, FakeBuilder(tmp_path), journal)

    assert summary == f"rolled back to release {R0} (000000000000)"
    assert trace(fleet, "web1") == [
        "taking the app lock",
        "check release",
        "making the app's Unix user",  # a release from before may be older than its user
        "giving the release to the app's user",
        "reading the standby",
        "health gate",  # warm, not restarted, gated all the same
        "put /srv/rxpanel/demo/tmp/site.conf",
        "switching nginx",
        "public check",
        "finishing (standby, retention)",
        "moving open tabs",
        "releasing the lock",
    ]
    assert fleet.sent("web1", "check release") == [release.exists(LAYOUT, R0)]
    text = journal.text()
    assert text[0] == f"rolling back from {R1} to {R0} (000000000000)"
    assert f"release {R0} is still warm on green: no restart needed" in text
    assert journal.of("release_used") == [(R0, "0" * 40)]
    assert journal.of("went_live") == [(R0, "green")]
    assert [e[:3] for e in journal.of("standby_until")] == [(1, "blue", R1)]


def test_a_rollback_to_a_release_no_server_holds(tmp_path):
    fleet, journal = Fleet(), MemoryJournal()
    fleet.answers[("web1", "check release")] = Result(1, "", "")
    with pytest.raises(engine.DeployFailed, match=f"release {R0} is not on web1"):
        execute(
            plan(kind="rollback", rollback_to=RELEASES[0]), fleet, FakeBuilder(tmp_path), journal
        )
    assert trace(fleet, "web1") == ["taking the app lock", "check release", "releasing the lock"]
    assert journal.of("releases_removed") == [([R0],)]


def test_a_fleet_where_one_gate_fails_switches_nothing(tmp_path):
    fleet, journal = Fleet(), MemoryJournal()
    fleet.answers[("web2", "health gate")] = Result(1, "not healthy after 60s: /ping refused\n", "")
    with pytest.raises(engine.DeployFailed) as failed:
        execute(plan(("web1", "web2")), fleet, FakeBuilder(tmp_path), journal)

    reason = (
        "the health gate failed on 1 of 2 servers (web1: ok; web2: release "
        f"{NEW} failed the health gate on port 8101: not healthy after 60s: /ping refused)"
    )
    assert str(failed.value) == reason
    cleanup = [supervisor.stop(LAYOUT, "green"), release.remove(LAYOUT, [NEW])]
    for server in ("web1", "web2"):
        labels = fleet.labels(server)
        assert "switching nginx" not in labels and "upload frontend" not in labels
        assert labels[labels.index("health gate") + 1 :] == [
            *(["reading the app log"] if server == "web2" else []),
            "cleanup",
            "cleanup",
            "releasing the lock",
        ]
        assert fleet.sent(server, "cleanup") == cleanup
        assert f"[{server}] cleaned up: the previous release keeps serving" in journal.text()
    assert fleet.labels("web1")[:2] == ["taking the app lock", "preparing the app directory"]
    assert len(fleet.sent("web1", "reflex db migrate")) == 1  # on the primary only
    assert fleet.sent("web2", "reflex db migrate") == []
    assert journal.of("went_live") == []
    assert journal.of("release_status")[-1] == (NEW, "bad", reason)
    assert ("health gate [web2]", "failed") in journal.steps
    assert ("health gate [web1]", "ok") in journal.steps


def test_a_server_name_another_site_has_fails_the_switch_in_one_sentence(tmp_path):
    fleet, journal = Fleet(), MemoryJournal()
    fleet.answers[("web1", "switching nginx")] = Result(
        1,
        "",
        'nginx: [warn] conflicting server name "demo.example" on 0.0.0.0:80, ignored\n'
        "nginx: configuration file /etc/nginx/nginx.conf test is successful\n"
        "nginx -t: another site on this server already has server name demo.example: "
        "the previous site config was kept\n",
    )
    with pytest.raises(engine.DeployFailed) as failed:
        execute(plan(), fleet, FakeBuilder(tmp_path), journal)
    assert str(failed.value) == (
        "the switch failed, the previous site config was kept: nginx -t: another site on this "
        "server already has server name demo.example"
    )
    assert journal.of("went_live") == []


def test_a_failed_switch_switches_the_others_back(tmp_path):
    fleet, journal = Fleet(), MemoryJournal()
    fleet.answers[("web2", "switching nginx")] = Result(
        1, "", "nginx: [emerg] bad\nnginx -t failed: the previous site config was kept\n"
    )
    with pytest.raises(engine.DeployFailed) as failed:
        execute(plan(("web1", "web2")), fleet, FakeBuilder(tmp_path), journal)

    assert str(failed.value) == (
        "the switch failed on 1 of 2 servers (web1: ok; web2: the switch failed, the previous "
        "site config was kept: nginx: [emerg] bad | nginx -t failed)"
    )
    after = fleet.labels("web1")[fleet.labels("web1").index("switching nginx") + 1 :]
    assert after == [
        "restoring the previous site",
        "restoring current",
        "cleanup",
        "releasing the lock",
    ]
    assert fleet.sent("web1", "restoring the previous site") == [nginx.restore_site(LAYOUT)]
    assert fleet.sent("web1", "restoring current") == [release.activate(LAYOUT, R1, "blue")]
    assert fleet.sent("web1", "cleanup") == [supervisor.stop(LAYOUT, "green")]
    labels2 = fleet.labels("web2")
    assert labels2[labels2.index("switching nginx") + 1 :] == ["cleanup", "releasing the lock"]
    assert "[web1] switched back to the previous site" in journal.text()
    assert journal.of("went_live") == []
    assert journal.of("release_status")[-1][:2] == (NEW, "bad")


def test_the_build_error_is_the_reason_when_the_gate_fails_too(tmp_path):
    fleet, journal = Fleet(), MemoryJournal()
    fleet.answers[("web1", "health gate")] = Result(1, "not healthy after 60s\n", "")
    with pytest.raises(engine.DeployFailed, match="^reflex export failed: boom$"):
        execute(plan(), fleet, FakeBuilder(tmp_path, fail="reflex export failed: boom"), journal)
    assert journal.of("release_status")[-1] == (NEW, "bad", "reflex export failed: boom")
    assert "switching nginx" not in fleet.labels("web1")


def test_a_first_connection_records_the_host_key(tmp_path):
    fleet, journal = Fleet(), MemoryJournal()
    p = plan(targets=(target("web1", 1, host_key=None),))
    execute(p, fleet, FakeBuilder(tmp_path), journal)
    assert journal.of("host_key_seen")[0] == (1, "ssh-ed25519 KEY-OF-web1")


def test_a_stranger_on_the_port_moves_the_colour(tmp_path):
    fleet, journal = Fleet(), MemoryJournal()
    busy = Result(supervisor.PORT_BUSY, "", "port 8101 is in use by another process on the server")
    calls = {"n": 0}
    original = FakeRemote.run

    def run(self, command, *, label="remote command", **kw):
        if label == "starting green" and calls["n"] == 0:
            calls["n"] += 1
            self.fleet.record(self.name, label, command)
            return busy
        return original(self, command, label=label, **kw)

    fleet.answers[("web1", "finding a free port")] = Result(0, "8102\n", "")
    FakeRemote.run, saved = run, FakeRemote.run
    try:
        execute(plan(), fleet, FakeBuilder(tmp_path), journal)
    finally:
        FakeRemote.run = saved
    assert fleet.sent("web1", "finding a free port") == [supervisor.first_free_port([8102, 8103])]
    assert journal.of("port_moved") == [(1, "green", 8102)]
    assert "port 8101 is taken by another process on the server: green moves to port 8102" in (
        journal.text()
    )


def test_cancelling_stops_between_steps_and_unlocks(tmp_path):
    fleet, journal, cancel = Fleet(), MemoryJournal(), threading.Event()
    original = FakeBuilder.checkout

    def checkout(self, *a):
        cancel.set()  # the operator presses Ctrl-C during the checkout
        return original(self, *a)

    builder = FakeBuilder(tmp_path)
    builder.checkout = checkout.__get__(builder)
    with pytest.raises(engine.Cancelled):
        execute(plan(), fleet, builder, journal, cancel=cancel)
    assert fleet.calls == {}  # no server was touched


class SqliteApp(FakeBuilder):
    def checkout(self, app, source, branch, ref, log, deploy_key=""):
        found = super().checkout(app, source, branch, ref, log)
        return build.Source(found.path, found.commit, found.requirements, ("reflex.db",))


def test_every_server_links_the_found_and_declared_paths_before_migrating(tmp_path):
    fleet, journal = Fleet(), MemoryJournal()
    app = plan().app
    declared = AppSettings(**{**app.__dict__, "shared_paths": ("notes.db", "media/")})
    execute(plan(("web1", "web2"), app=declared), fleet, SqliteApp(tmp_path), journal)
    want = shared.link(LAYOUT, NEW, ["reflex.db", "notes.db", "uploaded_files/", "media/"])
    for server in ("web1", "web2"):
        labels = trace(fleet, server)
        assert fleet.sent(server, "linking shared data") == [want]
        assert labels.index(f"put /srv/rxpanel/demo/releases/{NEW}/release.json.part") < (
            labels.index("linking shared data")
        )
    assert trace(fleet, "web1").index("linking shared data") < (
        trace(fleet, "web1").index("reflex db migrate")
    )
    # the primary, which migrates, keeps a copy of each database first
    assert fleet.sent("web1", "snapshotting the database") == [
        snapshot.before_migrate(LAYOUT, NEW, ("reflex.db", "notes.db"))
    ]
    labels = trace(fleet, "web1")
    assert labels.index("snapshotting the database") + 1 == labels.index("reflex db migrate")
    assert fleet.sent("web2", "snapshotting the database") == []
    text = journal.text()
    assert (
        "[web1] kept in /srv/rxpanel/demo/shared: reflex.db, notes.db, uploaded_files/, media/"
        in text
    )


# -- the public check: nginx asked for the app after the switch ------------------------

FAILED_PUBLIC = Result(
    1, "/ answered 418 without a page to a browser; /ping through nginx answered 418 ''\n", ""
)


def test_the_public_check_asks_nginx_for_the_apps_url(tmp_path):
    from rxpanel.deploy.commands import public

    fleet, journal = Fleet(), MemoryJournal()
    execute(plan(), fleet, FakeBuilder(tmp_path), journal)
    assert fleet.sent("web1", "public check") == [public.public_check("http://demo.example")]
    assert ("public check", "ok") in journal.steps
    assert (
        "the public side answers: / (browser and curl), /assets/a-1.js, /ping through nginx"
        in journal.text()
    )


def test_a_failed_public_check_switches_back_to_the_release_before(tmp_path):
    fleet, journal = Fleet(), MemoryJournal()
    fleet.answers[("web1", "public check")] = FAILED_PUBLIC
    with pytest.raises(engine.DeployFailed) as failed:
        execute(plan(), fleet, FakeBuilder(tmp_path), journal)

    reason = (
        "the public side failed after the switch: / answered 418 without a page to a browser; "
        "/ping through nginx answered 418 ''"
    )
    assert str(failed.value) == f"{reason}; switched back to release {R1}"
    after = fleet.labels("web1")[fleet.labels("web1").index("public check") + 1 :]
    assert after == [
        "restoring the previous site",
        "restoring current",
        "cleanup",
        "cleanup",
        "releasing the lock",
    ]
    assert fleet.sent("web1", "restoring the previous site") == [nginx.restore_site(LAYOUT)]
    assert fleet.sent("web1", "restoring current") == [release.activate(LAYOUT, R1, "blue")]
    assert fleet.sent("web1", "cleanup") == [
        standby.clear(LAYOUT),
        supervisor.stop(LAYOUT, "green"),
    ]
    assert "cleaned up: the previous release keeps serving" in journal.text()
    assert "finishing (standby, retention)" not in fleet.labels("web1")
    assert journal.of("went_live") == [(NEW, "green"), (R1, "blue")]
    assert journal.of("release_status")[-1] == (NEW, "bad", reason)
    assert ("public check", "failed") in journal.steps


def test_one_servers_failed_public_check_switches_the_whole_fleet_back(tmp_path):
    fleet, journal = Fleet(), MemoryJournal()
    fleet.answers[("web2", "public check")] = FAILED_PUBLIC
    with pytest.raises(engine.DeployFailed) as failed:
        execute(plan(("web1", "web2")), fleet, FakeBuilder(tmp_path), journal)
    assert str(failed.value).startswith(
        "the public side failed after the switch: the public check failed on 1 of 2 servers "
        "(web1: ok; web2: / answered 418"
    )
    assert str(failed.value).endswith(f"; switched back to release {R1}")
    for server in ("web1", "web2"):
        assert fleet.sent(server, "restoring current") == [release.activate(LAYOUT, R1, "blue")]
        assert fleet.sent(server, "cleanup") == [
            standby.clear(LAYOUT),
            supervisor.stop(LAYOUT, "green"),
        ]
        assert f"[{server}] switched back to the previous site" in journal.text()
    assert journal.of("went_live") == [(NEW, "green"), (R1, "blue")]


def test_a_first_deploy_has_nothing_to_switch_back_to(tmp_path):
    fleet, journal = Fleet(), MemoryJournal()
    fleet.answers[("web1", "public check")] = FAILED_PUBLIC
    app = dataclasses.replace(plan().app, live_color=None, current_release_id=None)
    first = plan(app=app, releases=())
    with pytest.raises(
        engine.DeployFailed, match="; there is no previous release to switch back to$"
    ):
        execute(first, fleet, FakeBuilder(tmp_path), journal)
    assert "restoring the previous site" not in fleet.labels("web1")
    assert journal.of("went_live") == [(NEW, "blue")]


def test_a_rollback_whose_public_side_fails_goes_back_to_what_served(tmp_path):
    fleet, journal = Fleet(), MemoryJournal()
    fleet.answers[("web1", "public check")] = FAILED_PUBLIC
    p = plan(kind="rollback", rollback_to=RELEASES[0])
    with pytest.raises(engine.DeployFailed, match=f"; switched back to release {R1}$"):
        execute(p, fleet, FakeBuilder(tmp_path), journal)
    assert fleet.sent("web1", "restoring current") == [release.activate(LAYOUT, R1, "blue")]
    assert journal.of("went_live") == [(R0, "green"), (R1, "blue")]


def test_a_kept_build_redeployed_goes_back_to_its_old_colour_and_stays_good(tmp_path):
    """The same release on the other colour: back to the colour that served it."""
    fleet, journal = Fleet(), MemoryJournal()
    fleet.answers[("web1", "public check")] = FAILED_PUBLIC
    live = ReleaseInfo(R1, COMMIT, "live", "h1", "k1", env_hash=SAME_ENV)
    with pytest.raises(engine.DeployFailed, match=f"; switched back to release {R1}$"):
        execute(plan(reusable=lambda key: live), fleet, FakeBuilder(tmp_path), journal)
    assert fleet.sent("web1", "restoring current") == [release.activate(LAYOUT, R1, "blue")]
    assert fleet.sent("web1", "cleanup") == [
        standby.clear(LAYOUT),
        supervisor.stop(LAYOUT, "green"),
    ]
    assert journal.of("went_live") == [(R1, "green"), (R1, "blue")]
    assert (R1, "bad") not in [s[:2] for s in journal.of("release_status")]


def test_a_login_without_root_or_sudo_deploys_and_says_what_isolation_is_missing(tmp_path):
    fleet, journal = Fleet(), MemoryJournal()
    login = dataclasses.replace(target("web1", 1), paths=Host(user="deploy"))
    execute(plan(targets=(login,)), fleet, FakeBuilder(tmp_path), journal)
    calls = trace(fleet, "web1")
    assert "making the app's Unix user" not in calls
    assert "giving the release to the app's user" in calls  # a no-op there: `true`
    assert fleet.sent("web1", "giving the release to the app's user") == ["true"]
    assert (
        "warning: the app runs as deploy, the SSH login, like every app on web1: without "
        "root or sudo there is no Unix user per app, so the apps there can read each "
        "other's env and data (give the login sudo to isolate them)"
    ) in journal.text()


def test_a_runtime_env_change_is_a_new_release_copied_on_the_server(tmp_path):
    """Same commit and build-time env, another runtime env: no build, no upload; the
    kept release is copied on the server into a new release with its own env, given
    to the app's user, started, gated and switched."""
    fleet, journal, builder = Fleet(), MemoryJournal(), FakeBuilder(tmp_path)
    kept = ReleaseInfo(R0, COMMIT, "good", REQ, "k0", env_hash=build.env_hash({"SECRET": "old"}))
    env = {"SECRET": "s3cr3t", "REFLEX_LOGLEVEL": "info"}
    summary = execute(plan(reusable=lambda key: kept, env=env), fleet, builder, journal)

    assert summary == f"release {NEW} ({COMMIT[:12]}) is live on green"
    assert builder.exports == 0
    assert trace(fleet, "web1") == [
        "taking the app lock",
        "check release",
        "copying the release",
        f"put /srv/rxpanel/demo/releases/{NEW}/env",
        f"put /srv/rxpanel/demo/releases/{NEW}/run.sh",
        f"put /srv/rxpanel/demo/releases/{NEW}/release.json",
        "making the app's Unix user",
        "giving the release to the app's user",  # the copy is the app user's too
        "reading the standby",
        "put /srv/rxpanel/demo/tmp/rxpanel-demo-green.conf",
        "starting green",
        "health gate",
        "put /srv/rxpanel/demo/tmp/site.conf",
        "switching nginx",
        "public check",
        "finishing (standby, retention)",
        "moving open tabs",
        "releasing the lock",
    ]
    assert fleet.sent("web1", "copying the release") == [release.copy(LAYOUT, R0, NEW)]
    assert fleet.sent("web1", "giving the release to the app's user") == [
        account.own_release(LAYOUT, NEW)
    ]
    env_file = fleet.files[("web1", f"/srv/rxpanel/demo/releases/{NEW}/env")].decode()
    assert "SECRET=s3cr3t" in env_file or "SECRET='s3cr3t'" in env_file
    run_sh = fleet.files[("web1", f"/srv/rxpanel/demo/releases/{NEW}/run.sh")].decode()
    assert f"/srv/rxpanel/demo/releases/{NEW}" in run_sh and R0 not in run_sh
    meta = fleet.files[("web1", f"/srv/rxpanel/demo/releases/{NEW}/release.json")].decode()
    assert NEW in meta and R0 not in meta
    text = journal.text()
    assert f"env changed, same build: new release {NEW} from {R0}, no build, no upload" in text
    assert not any("s3cr3t" in line for line in text)
    [(created, snapshot)] = journal.of("release_created")
    assert (created.id, created.commit, created.build_key, created.req_hash) == (
        NEW,
        COMMIT,
        "k0",
        REQ,
    )
    assert snapshot == env  # its own env: a rollback to R0 brings the old one back
    assert journal.of("release_status") == [(NEW, "ready")]
    assert journal.of("went_live") == [(NEW, "green")]
    assert journal.of("release_used") == []


def test_the_export_is_given_only_the_build_time_variables(tmp_path):
    builder = FakeBuilder(tmp_path)
    env = {"SECRET": "s3cr3t", "FLAG": "on", "REFLEX_LOGLEVEL": "info"}
    app = dataclasses.replace(plan().app, build_env_keys=("FLAG",))
    execute(plan(env=env, app=app), Fleet(), builder, MemoryJournal())
    assert builder.envs == [{"FLAG": "on", "REFLEX_LOGLEVEL": "info"}]


def test_the_copy_command():
    assert release.copy(LAYOUT, R0, NEW) == (
        f"mkdir /srv/rxpanel/demo/releases/{NEW} && "
        f"cp -a /srv/rxpanel/demo/releases/{R0}/backend /srv/rxpanel/demo/releases/{R0}/frontend "
        f"/srv/rxpanel/demo/releases/{NEW}/"
    )
    sudo = dataclasses.replace(
        LAYOUT, host=Host(deploy_root="/srv/rxpanel", user="deploy", sudo=True)
    )
    assert release.copy(sudo, R0, NEW) == (
        f"mkdir /srv/rxpanel/demo/releases/{NEW} && sudo -n sh -c "
        f"'cp -a /srv/rxpanel/demo/releases/{R0}/backend /srv/rxpanel/demo/releases/{R0}/frontend "
        f"/srv/rxpanel/demo/releases/{NEW}/'"
    )


# -- the state store (issue 14) ------------------------------------------------------

STORE_PASSWORD = "0a1b2c3d4e5f" * 4


def store_plan(**kw) -> Plan:
    p = plan(**kw)
    app = dataclasses.replace(p.app, state_password=STORE_PASSWORD)
    return dataclasses.replace(p, app=app)


def test_a_deploy_starts_the_state_store_before_the_colour_and_gates_it(tmp_path):
    fleet, journal = Fleet(), MemoryJournal()
    fleet.answers[("web1", "finding redis-server")] = Result(0, "/usr/bin/redis-server\n", "")
    fleet.answers[("web1", "checking the state store")] = Result(1, "", "")  # not set up yet
    execute(store_plan(), fleet, FakeBuilder(tmp_path), journal)

    labels = trace(fleet, "web1")
    store_at = labels.index("starting the state store")
    assert labels[store_at - 4 : store_at + 1] == [
        "finding redis-server",
        "checking the state store",
        "put /srv/rxpanel/demo/tmp/redis.conf",
        "put /srv/rxpanel/demo/tmp/rxpanel-demo-redis.conf",
        "starting the state store",
    ]
    assert labels.index("giving the release to the app's user") < store_at
    assert store_at < labels.index("starting green")
    assert fleet.sent("web1", "starting the state store") == [
        store_cmd.ensure(
            LAYOUT,
            "/srv/rxpanel/demo/tmp/redis.conf",
            "/srv/rxpanel/demo/tmp/rxpanel-demo-redis.conf",
        )
    ]
    conf = fleet.files[("web1", "/srv/rxpanel/demo/tmp/redis.conf")].decode()
    assert f"requirepass {STORE_PASSWORD}\n" in conf
    assert 'unixsocket "/srv/rxpanel/demo/shared/.redis/redis.sock"\n' in conf
    program = fleet.files[("web1", "/srv/rxpanel/demo/tmp/rxpanel-demo-redis.conf")].decode()
    assert STORE_PASSWORD not in program  # supervisor's conf dir is readable by all
    assert "command=/usr/bin/redis-server /srv/rxpanel/demo/shared/.redis/redis.conf\n" in program
    assert "user=rxa-demo\n" in program
    env = fleet.files[("web1", f"/srv/rxpanel/demo/releases/{NEW}/env")].decode()
    assert (
        f"REFLEX_REDIS_URL=unix://:{STORE_PASSWORD}@/srv/rxpanel/demo/shared/.redis/redis.sock\n"
        in env
    )
    (gate_cmd,) = fleet.sent("web1", "health gate")
    assert gate_cmd.endswith(
        store_cmd.ping(LAYOUT) + " || { echo 'the state store (Redis) "
        "does not answer: see logs/redis.log on the server'; exit 1; }; }"
    )
    text = journal.text()
    assert not any(STORE_PASSWORD in line for line in text)
    assert any("state store: Redis for demo answers on" in line for line in text)


def test_a_store_that_is_as_configured_and_answers_is_left_alone(tmp_path):
    first = Fleet()
    first.answers[("web1", "finding redis-server")] = Result(0, "/usr/bin/redis-server\n", "")
    first.answers[("web1", "checking the state store")] = Result(1, "", "")
    execute(store_plan(), first, FakeBuilder(tmp_path / "1"), MemoryJournal())
    written = [
        first.files[("web1", f"/srv/rxpanel/demo/tmp/{name}")]
        for name in ("redis.conf", "rxpanel-demo-redis.conf")
    ]
    # the check compares the server's files with exactly what would be written
    (check,) = first.sent("web1", "checking the state store")
    assert check == store_cmd.current(LAYOUT, *(hashlib.sha256(b).hexdigest() for b in written))

    fleet, journal = Fleet(), MemoryJournal()
    fleet.answers[("web1", "finding redis-server")] = Result(0, "/usr/bin/redis-server\n", "")
    execute(store_plan(), fleet, FakeBuilder(tmp_path / "2"), journal)  # the check passes
    labels = trace(fleet, "web1")
    assert "starting the state store" not in labels
    assert not any(label.startswith("put /srv/rxpanel/demo/tmp/redis") for label in labels)
    assert any("state store: unchanged, answers on" in line for line in journal.text())


def test_without_redis_server_the_deploy_says_what_to_install(tmp_path):
    fleet, journal = Fleet(), MemoryJournal()
    fleet.answers[("web1", "finding redis-server")] = Result(store_cmd.MISSING, "", "")
    with pytest.raises(engine.DeployFailed, match="apt-get install redis-server"):
        execute(store_plan(), fleet, FakeBuilder(tmp_path), journal)
    assert "starting green" not in trace(fleet, "web1")


def test_the_operators_own_redis_url_wins_and_no_store_is_run(tmp_path):
    fleet, journal = Fleet(), MemoryJournal()
    p = store_plan(env={"SECRET": "s3cr3t", "REFLEX_REDIS_URL": "redis://db:6379/3"})
    execute(p, fleet, FakeBuilder(tmp_path), journal)
    assert "starting the state store" not in trace(fleet, "web1")
    env = fleet.files[("web1", f"/srv/rxpanel/demo/releases/{NEW}/env")].decode()
    assert "REFLEX_REDIS_URL=redis://db:6379/3\n" in env


def test_the_apps_worker_count_reaches_the_release_env_with_a_shared_store(tmp_path):
    fleet, journal = Fleet(), MemoryJournal()
    fleet.answers[("web1", "finding redis-server")] = Result(0, "/usr/bin/redis-server\n", "")
    p = store_plan()
    execute(dataclasses.replace(p, app=dataclasses.replace(p.app, workers=3)), fleet,
            FakeBuilder(tmp_path), journal)  # fmt: skip
    env = fleet.files[("web1", f"/srv/rxpanel/demo/releases/{NEW}/env")].decode()
    assert "GRANIAN_WORKERS=3\n" in env  # not Reflex's 2 x CPUs + 1 once it has a Redis


def test_several_workers_without_a_shared_store_are_refused_before_anything_starts(tmp_path):
    fleet, journal = Fleet(), MemoryJournal()
    p = plan()  # no state store password: the store is off
    p = dataclasses.replace(p, app=dataclasses.replace(p.app, state_store="off", workers=2))
    with pytest.raises(engine.DeployFailed, match="2 backend workers need the state store"):
        execute(p, fleet, FakeBuilder(tmp_path), journal)
    assert "starting green" not in trace(fleet, "web1")
    p = dataclasses.replace(p, app=dataclasses.replace(p.app, workers=1))
    fleet2 = Fleet()
    execute(p, fleet2, FakeBuilder(tmp_path / "2"), MemoryJournal())
    env = fleet2.files[("web1", f"/srv/rxpanel/demo/releases/{NEW}/env")].decode()
    assert "GRANIAN_WORKERS" not in env  # Reflex runs one worker without a Redis


def test_a_rollback_makes_sure_the_store_runs_too(tmp_path):
    fleet, journal = Fleet(), MemoryJournal()
    fleet.answers[("web1", "checking the state store")] = Result(1, "", "")  # it is down
    p = store_plan(kind="rollback", rollback_to=RELEASES[0])
    execute(p, fleet, FakeBuilder(tmp_path), journal)
    labels = trace(fleet, "web1")
    assert labels.index("checking the state store") < labels.index("starting the state store")
    assert labels.index("starting the state store") < labels.index("starting green")


# -- cutover of live connections (issue 14) ------------------------------------------


def test_after_the_drain_the_old_colour_restarts_and_its_tabs_move(tmp_path):
    fleet, journal = Fleet(), MemoryJournal()
    fleet.answers[("web1", "moving open tabs")] = Result(0, "restarted with 2 open\n", "")
    p = plan()
    p = dataclasses.replace(p, app=dataclasses.replace(p.app, drain_seconds=0.2))
    execute(p, fleet, FakeBuilder(tmp_path), journal)
    labels = trace(fleet, "web1")
    assert labels.index("switching nginx") < labels.index("moving open tabs")
    assert labels[-2:] == ["moving open tabs", "releasing the lock"]  # under the lock
    port = p.targets[0].ports["blue"]
    assert fleet.sent("web1", "moving open tabs") == [
        composite.cut_over(LAYOUT, "blue", port, 0.2)
    ]
    text = journal.text()
    assert "open tabs on blue get up to 0.2 s to finish their events" in text
    assert "blue restarted: its open tabs reconnect to green" in text


def test_with_no_open_tab_nothing_is_restarted(tmp_path):
    fleet, journal = Fleet(), MemoryJournal()
    fleet.answers[("web1", "moving open tabs")] = Result(0, "no open connections\n", "")
    execute(plan(), fleet, FakeBuilder(tmp_path), journal)
    text = journal.text()
    assert "no open tabs on blue: nothing to move" in text and "restarted" not in text


def test_a_first_deploy_has_no_tabs_to_move(tmp_path):
    fleet, journal = Fleet(), MemoryJournal()
    p = plan()
    first = dataclasses.replace(p.app, live_color=None, current_release_id=None)
    execute(dataclasses.replace(p, app=first, releases=()), fleet, FakeBuilder(tmp_path), journal)
    assert "moving open tabs" not in trace(fleet, "web1")


def test_a_failed_cutover_is_a_warning_the_release_serves(tmp_path):
    fleet, journal = Fleet(), MemoryJournal()
    fleet.answers[("web1", "moving open tabs")] = Result(1, "", "supervisor down")
    summary = execute(plan(), fleet, FakeBuilder(tmp_path), journal)
    assert summary.startswith(f"release {NEW} ")
    assert any(line.startswith("warning: ") for line in journal.text())


# -- state classes that changed between releases (issue 14) --------------------------

ROOT = "reflex___state____state"
A, B, C = f"{ROOT}.app___app____a", f"{ROOT}.app___app____b", f"{ROOT}.app___app____c"
LIVE_STATES = {ROOT: "0" * 32, A: "a" * 32, B: "b" * 32}


def states_plan(on_state_change="reset", live=LIVE_STATES, **kw) -> Plan:
    p = store_plan(**kw)
    app = dataclasses.replace(p.app, on_state_change=on_state_change)
    rels = tuple(
        dataclasses.replace(r, state_schema=json.dumps(live)) if r.id == R1 else r
        for r in p.releases
    )
    return dataclasses.replace(p, app=app, releases=rels)


def states_builder(tmp_path, new) -> FakeBuilder:
    builder = FakeBuilder(tmp_path)
    builder.states = new
    return builder


def test_changed_state_classes_are_cleared_right_after_the_switch(tmp_path):
    fleet, journal = Fleet(), MemoryJournal()
    fleet.answers[("web1", "moving open tabs")] = Result(0, "restarted with 1 open\n", "")
    new = {ROOT: "0" * 32, A: "f" * 32, C: "c" * 32}  # a changed, b removed, c added
    execute(states_plan(), fleet, states_builder(tmp_path, new), journal)

    labels = trace(fleet, "web1")
    switched = labels.index("switching nginx")
    assert labels[switched + 1] == "clearing the stored state"
    assert labels[labels.index("moving open tabs") + 1] == "clearing the stored state"  # again
    assert labels.count("clearing the stored state") == 2
    assert fleet.sent("web1", "clearing the stored state")[0] == store_cmd.flush(LAYOUT)
    assert (
        "state classes app___app____a, app___app____b changed: "
        "the stored state of open tabs was cleared" in journal.text()
    )
    assert journal.of("release_states") == [(NEW, states.encode(new))]


def test_compatible_state_classes_clear_nothing(tmp_path):
    fleet, journal = Fleet(), MemoryJournal()
    new = {**LIVE_STATES, C: "c" * 32}  # only a class added
    execute(states_plan(), fleet, states_builder(tmp_path, new), journal)
    assert "clearing the stored state" not in trace(fleet, "web1")
    assert f"state compatible with release {R1}" in journal.text()


def test_unknown_state_classes_are_not_compared(tmp_path):
    fleet, journal = Fleet(), MemoryJournal()
    execute(states_plan(live={}), fleet, states_builder(tmp_path, {A: "f" * 32}), journal)
    assert "clearing the stored state" not in trace(fleet, "web1")
    assert any("not checked" in line for line in journal.text())


def test_refuse_fails_before_the_migration_and_nothing_starts(tmp_path):
    fleet, journal = Fleet(), MemoryJournal()
    new = {ROOT: "0" * 32, A: "f" * 32}
    with pytest.raises(engine.DeployFailed) as failed:
        execute(states_plan("refuse"), fleet, states_builder(tmp_path, new), journal)
    said = str(failed.value)
    assert "\n" not in said
    assert said.startswith(
        f"state classes app___app____a, app___app____b changed since release {R1}"
    )
    assert "--on-state-change reset" in said and "compatible" in said
    labels = trace(fleet, "web1")
    assert "reflex db migrate" not in labels and "starting green" not in labels
    assert "switching nginx" not in labels and "clearing the stored state" not in labels


def test_refuse_lets_a_compatible_deploy_through(tmp_path):
    fleet, journal = Fleet(), MemoryJournal()
    execute(states_plan("refuse"), fleet, states_builder(tmp_path, dict(LIVE_STATES)), journal)
    assert "switching nginx" in trace(fleet, "web1")
    assert journal.text().count(f"state compatible with release {R1}") == 1


def test_a_rollback_to_other_state_classes_resets_even_with_refuse(tmp_path):
    fleet, journal = Fleet(), MemoryJournal()
    old = dataclasses.replace(RELEASES[0], state_schema=json.dumps({ROOT: "0" * 32}))
    p = states_plan("refuse", kind="rollback", rollback_to=old)
    p = dataclasses.replace(p, releases=(old, *p.releases[1:]))
    execute(p, fleet, FakeBuilder(tmp_path), journal)
    labels = trace(fleet, "web1")
    assert labels[labels.index("switching nginx") + 1] == "clearing the stored state"


def test_the_operators_own_store_is_not_cleared_but_the_log_says_so(tmp_path):
    fleet, journal = Fleet(), MemoryJournal()
    p = states_plan(env={"SECRET": "s3cr3t", "REFLEX_REDIS_URL": "redis://db:6379/3"})
    execute(p, fleet, states_builder(tmp_path, {ROOT: "0" * 32}), journal)
    assert "clearing the stored state" not in trace(fleet, "web1")
    assert any("was not cleared" in line for line in journal.text())


def test_a_failed_clear_is_logged_not_fatal(tmp_path):
    fleet, journal = Fleet(), MemoryJournal()
    fleet.answers[("web1", "clearing the stored state")] = Result(1, "", "NOAUTH")
    summary = execute(states_plan(), fleet, states_builder(tmp_path, {ROOT: "1" * 32}), journal)
    assert summary.startswith(f"release {NEW}")
    assert any(line.startswith("warning:") and "clearing" in line for line in journal.text())
