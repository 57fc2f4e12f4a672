"""The health state machine, incidents, the watch window, retention, leases,
and the alert payloads (on a temporary database)."""

from __future__ import annotations

import json
import subprocess
from datetime import timedelta

import pytest

from rxpanel import db
from rxpanel.health.prober import Result
from rxpanel.models import App, HealthCheck, HealthRollup, Incident, Release, utcnow
from rxpanel.services import apps, health, leases, notify, releases, servers
from rxpanel.services.health import next_state


@pytest.mark.parametrize(
    ("state", "fails", "oks", "ok", "expected"),
    [
        (None, 0, 0, True, ("healthy", 0, 1)),
        (None, 0, 0, False, ("degraded", 1, 0)),
        ("healthy", 0, 5, False, ("degraded", 1, 0)),
        ("degraded", 1, 0, False, ("degraded", 2, 0)),
        ("degraded", 2, 0, False, ("down", 3, 0)),  # threshold 3
        ("degraded", 2, 0, True, ("healthy", 0, 1)),
        ("down", 5, 0, True, ("down", 0, 1)),  # one success is not a recovery
        ("down", 0, 1, True, ("healthy", 0, 2)),
        ("down", 0, 1, False, ("down", 1, 0)),
    ],
)
def test_next_state(state, fails, oks, ok, expected):
    assert next_state(state, fails, oks, ok, threshold=3) == expected


@pytest.fixture
def app(home, tmp_path):
    key = tmp_path / "k"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    servers.add(servers.ServerInput(name="s1", host="127.0.0.1"), key.read_text())
    app = apps.add(
        apps.AppInput(
            name="demo",
            server="s1",
            source="https://git.example/src.git",
            url="http://a.example",
            failure_threshold=2,
        )
    )
    for rid, status in (("20260101T000000-aaaaaa", "good"), ("20260102T000000-bbbbbb", "ready")):
        releases.create(
            id=rid,
            app_id=app.id,
            commit="c" * 40,
            build_key="k",
            req_hash="h",
            env_enc="x",
            status=status,
            live_at=utcnow() - timedelta(hours=3),
        )
    apps.set_live(app.id, "20260102T000000-bbbbbb", "blue")
    with db.session() as s:  # live for 3 h: outside the 5 min watch window
        rel = s.get(Release, "20260102T000000-bbbbbb")
        rel.live_at = utcnow() - timedelta(hours=3)
        s.add(rel)
    return apps.get("demo")


def result(app, ok, error=None, when=None):
    return Result(app.id, when or utcnow(), ok, 200 if ok else 500, 12.5 if ok else None, error)


def test_targets_are_deployed_apps_with_their_health_url(app):
    (target,) = health.targets()
    assert target.url == "http://a.example/ping" and target.expect_pong
    assert health.targets(interval=60) == []
    assert health.intervals() == [30]


def test_a_first_passing_check_is_not_news(app):
    assert apps.get("demo").health_state is None
    assert health.record([result(app, True)]) == []
    assert apps.get("demo").health_state == "healthy"
    assert health.incidents(app.id) == []


def test_going_down_opens_one_incident_and_recovery_closes_it(app):
    assert health.record([result(app, False, "HTTP 500")])[0].after == "degraded"
    changes = health.record([result(app, False, "HTTP 500")])
    assert [(c.before, c.after) for c in changes] == [("degraded", "down")]
    assert not changes[0].rollback  # went live 3 h ago: outside the 5 min window
    health.record([result(app, True)])
    assert apps.get("demo").health_state == "down"  # one success is not enough
    changes = health.record([result(app, True)])
    assert [(c.before, c.after) for c in changes] == [("down", "healthy")]
    (incident,) = health.incidents(app.id)
    assert (incident.state, incident.cause) == ("down", "HTTP 500")
    assert incident.ended_at is not None
    assert len(health.recent_checks(app.id)) == 4


def test_down_inside_the_watch_window_decides_a_rollback(app):
    with db.session() as s:
        rel = s.get(Release, app.current_release_id)
        rel.live_at = utcnow() - timedelta(minutes=2)
        s.add(rel)
    health.record([result(app, False, "connection refused")])
    (change,) = health.record([result(app, False, "connection refused")])
    assert change.after == "down" and change.rollback


def test_no_rollback_when_turned_off(app):
    with db.session() as s:
        row = s.get(App, app.id)
        row.auto_rollback = False
        s.add(row)
        rel = s.get(Release, app.current_release_id)
        rel.live_at = utcnow()
        s.add(rel)
    health.record([result(app, False, "x")])
    (change,) = health.record([result(app, False, "x")])
    assert change.after == "down" and not change.rollback


def test_uptime_and_latency(app):
    health.record([result(app, True)])
    health.record([result(app, True)])
    health.record([result(app, False, "x")])
    health.record([result(app, True)])
    assert health.uptime(app.id, 24) == pytest.approx(75.0)
    series = health.latency_series(app.id)
    assert series[-1]["avg"] == pytest.approx(12.5)


def test_rollup_and_prune_keep_the_database_bounded(app):
    # mid-hour, so the four checks of one moment (minutes apart) fall in one hourly rollup
    now = utcnow().replace(minute=30, second=0, microsecond=0)
    with db.session() as s:
        for days in (10, 3, 0.1):
            for i in range(4):
                s.add(
                    HealthCheck(
                        app_id=app.id,
                        checked_at=now - timedelta(days=days, minutes=i),
                        ok=i != 0,
                        latency_ms=10.0 * (i + 1),
                    )
                )
        s.add(HealthRollup(app_id=app.id, hour=now - timedelta(days=100), checks=1))
    hours = health.rollup(now)
    assert hours >= 1
    removed = health.prune(now)
    assert removed["checks"] == 4 and removed["rollups"] == 1
    with db.session() as s:
        rollups = s.exec(health.select(HealthRollup)).all()
    three_days = [r for r in rollups if now - r.hour > timedelta(days=2)]
    assert [(r.checks, r.failures) for r in three_days] == [(4, 1)]
    assert health.rollup(now) == 0  # idempotent: nothing new to roll up


def test_only_one_holder_of_a_lease(home):
    assert leases.acquire("worker", "a", ttl=30)
    assert not leases.acquire("worker", "b", ttl=30)
    assert leases.acquire("worker", "a", ttl=30)  # renewal
    assert leases.holder("worker") == "a"
    leases.release("worker", "a")
    assert leases.acquire("worker", "b", ttl=0.01)
    import time

    time.sleep(0.05)
    assert leases.holder("worker") is None  # expired: anyone may take it
    assert leases.acquire("worker", "c", ttl=30)


def test_channels_store_urls_encrypted_and_messages_fan_out(home):
    notify.add_channel("ops", "slack", "https://hooks.slack.example/T000/B000/XXXXsecret")
    notify.add_channel("team", "discord", "https://discord.example/api/webhooks/1/secret-token")
    assert b"XXXXsecret" not in (home / "rxpanel.db").read_bytes()
    assert notify.enqueue("health.down", "demo is down", app=1) == 2
    due = notify.due()
    by_kind = {ch.kind: notify.render(ch.kind, n) for n, ch in due}
    assert by_kind == {"slack": {"text": "demo is down"}, "discord": {"content": "demo is down"}}
    with pytest.raises(Exception, match="http"):
        notify.add_channel("bad", "webhook", "ftp://x")


def test_failed_deliveries_back_off_then_give_up(home):
    notify.add_channel("hook", "webhook", "http://127.0.0.1:9/none")
    notify.enqueue("deploy.failed", "it broke", app="demo")
    ((n, _),) = notify.due()
    assert json.loads(n.payload) == {"event": "deploy.failed", "text": "it broke", "app": "demo"}
    for attempt in range(1, len(notify.BACKOFF) + 2):
        notify.attempted(n.id, "HTTP 500")
        (after,) = notify.recent()
        assert after.attempts == attempt
        if attempt <= len(notify.BACKOFF):
            assert after.status == "pending"
            assert after.next_attempt_at > utcnow() + timedelta(
                seconds=notify.BACKOFF[attempt - 1] - 2
            )
    assert notify.recent()[0].status == "failed"
    assert notify.due() == []


def test_incident_model_defaults(home):
    assert Incident(app_id=1, state="down", cause="x").ended_at is None
