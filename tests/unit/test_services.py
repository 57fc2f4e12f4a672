"""Services on a temporary SQLite database per test: the queue, coalescing,
claims, recovery, and what is (not) stored in clear."""

from __future__ import annotations

import subprocess
from datetime import UTC, datetime, timedelta

import pytest

from rxpanel import secrets, settings
from rxpanel.services import Conflict, NotFound, ServiceError, apps, deployments, servers
from rxpanel.validate import ValidationError


@pytest.fixture
def key_text(tmp_path):
    path = tmp_path / "key"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(path)], check=True)
    return path.read_text()


@pytest.fixture
def app(home, key_text):
    servers.add(servers.ServerInput(name="s1", host="127.0.0.1"), key_text)
    return apps.add(
        apps.AppInput(
            name="demo",
            server="s1",
            source="https://git.example/src.git",
            url="http://127.0.0.1:9000",
            env={"TOKEN": "very-secret-token"},
        )
    )


def test_server_key_and_env_are_encrypted_at_rest(home, app, key_text):
    raw = (home / "rxpanel.db").read_bytes()
    assert b"very-secret-token" not in raw
    assert key_text.splitlines()[1].encode() not in raw
    assert apps.env_of(apps.get("demo")) == {"TOKEN": "very-secret-token"}
    assert servers.private_key(servers.get("s1")) == key_text
    assert oct((home / "secret.key").stat().st_mode & 0o777) == "0o600"
    assert "very-secret-token" not in str(apps.public(apps.get("demo")))


def test_a_changed_secret_key_fails_clearly(home, app, monkeypatch):
    monkeypatch.setenv("RXPANEL_SECRET_KEY", "another-key-entirely")
    settings.get.cache_clear()
    secrets._fernet.cache_clear()
    with pytest.raises(secrets.SecretError, match="cannot decrypt"):
        apps.env_of(apps.get("demo"))


def test_placeholder_secret_key_is_refused(monkeypatch):
    monkeypatch.setenv("RXPANEL_SECRET_KEY", "changeme")
    with pytest.raises(settings.SettingsError):
        settings.load()


def test_timestamps_come_back_aware_utc(app):
    dep = deployments.trigger(app.id)
    again = deployments.get(dep.id)
    assert again.created_at.tzinfo is not None
    assert abs(datetime.now(UTC) - again.created_at) < timedelta(seconds=5)


def test_names_and_urls_are_unique(app, key_text):
    with pytest.raises(Conflict):
        servers.add(servers.ServerInput(name="s1", host="10.0.0.1"), key_text)
    with pytest.raises(Conflict, match="already uses"):
        apps.add(
            apps.AppInput(
                name="other",
                server="s1",
                source="https://git.example/x.git",
                url="http://127.0.0.1:9000",
            )
        )
    with pytest.raises(NotFound):
        apps.add(
            apps.AppInput(
                name="other",
                server="nope",
                source="https://git.example/x.git",
                url="http://a.example",
            )
        )
    with pytest.raises(ValidationError):
        apps.add(
            apps.AppInput(
                name="Bad Name",
                server="s1",
                source="https://git.example/x.git",
                url="http://a.example",
            )
        )


def test_ports_are_assigned_in_unused_pairs(app):
    second = apps.add(
        apps.AppInput(
            name="two", server="s1", source="https://git.example/x.git", url="http://b.example"
        )
    )
    assert apps.placements(app.id)[0].ports == {"blue": 8100, "green": 8101}
    assert apps.placements(second.id)[0].ports == {"blue": 8102, "green": 8103}


def test_a_server_in_use_cannot_be_deleted(app):
    with pytest.raises(Conflict, match="demo"):
        servers.delete("s1")


def test_a_newer_request_replaces_the_queued_one(app):
    first = deployments.trigger(app.id, by="a")
    second = deployments.trigger(app.id, by="b")
    third = deployments.trigger(app.id, by="c")
    assert deployments.get(first.id).status == "superseded"
    assert deployments.get(first.id).superseded_by == second.id
    assert deployments.get(second.id).superseded_by == third.id
    assert "replaced by a newer request" in deployments.get(second.id).reason
    assert deployments.get(third.id).status == "queued"


def test_one_running_deployment_per_app(app):
    deployments.trigger(app.id)
    running = deployments.claim(app.id, runner="here:1")
    assert running is not None and running.status == "running"
    queued = deployments.trigger(app.id)
    assert deployments.claim(app.id, runner="elsewhere:2") is None  # one is running
    deployments.finish(running.id, "success", "ok")
    claimed = deployments.claim(app.id, runner="elsewhere:2")
    assert claimed.id == queued.id


def test_dead_runner_is_marked_interrupted(app):
    deployments.trigger(app.id)
    dep = deployments.claim(app.id, runner="some-other-host:4242")
    assert deployments.interrupt_dead() == []  # another host, fresh heartbeat: alive
    deployments.set_fields(dep.id, heartbeat_at=datetime.now(UTC) - timedelta(minutes=10))
    dead = deployments.interrupt_dead()
    assert [d.id for d in dead] == [dep.id]
    assert deployments.get(dep.id).status == "interrupted"


def test_a_dead_local_process_is_noticed_at_once(app):
    proc = subprocess.Popen(["true"])
    proc.wait()
    deployments.trigger(app.id)
    dep = deployments.claim(app.id, runner=f"{deployments.RUNNER_ID.rsplit(':', 1)[0]}:{proc.pid}")
    assert [d.id for d in deployments.interrupt_dead()] == [dep.id]


def test_unreadable_key_file_is_a_clear_error(tmp_path):
    bad = tmp_path / "not-a-key"
    bad.write_text("hello")
    with pytest.raises(ServiceError, match="not an SSH private key"):
        servers.read_key_file(bad)
    with pytest.raises(ServiceError, match="cannot read"):
        servers.read_key_file(tmp_path / "missing")
