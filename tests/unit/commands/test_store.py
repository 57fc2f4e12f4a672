"""deploy/commands/store.py and templates/store.py: the app's state store (a Redis
blue and green share). Exact strings, syntax, and a real redis-server started from
the rendered config, asked by the generated ping."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from rxpanel.deploy.commands import AppLayout, Host, store
from rxpanel.deploy.templates.store import render_conf, render_program

from ._support import APP, SANDBOX_APP, SHELLS, SUDO_APP, as_demo, assert_syntax

PASSWORD = "f00dfeed" * 6


def test_the_url_reflex_reads():
    assert store.url(APP, PASSWORD) == (
        f"unix://:{PASSWORD}@/srv/rxpanel/demo/shared/.redis/redis.sock"
    )
    spaced = AppLayout(Host(deploy_root="/srv/my apps"), "demo")
    assert store.url(spaced, PASSWORD).endswith("@/srv/my%20apps/demo/shared/.redis/redis.sock")


def test_the_layout():
    assert APP.store_dir == "/srv/rxpanel/demo/shared/.redis"
    assert APP.store_conf == "/srv/rxpanel/demo/shared/.redis/redis.conf"
    assert APP.store_program == "rxpanel-demo-redis"


def test_ping_reads_the_password_on_the_server_as_the_app_user():
    line = (
        "REDISCLI_AUTH=\"$(sed -n 's/^requirepass //p' /srv/rxpanel/demo/shared/.redis/redis.conf)\" "
        "redis-cli -s /srv/rxpanel/demo/shared/.redis/redis.sock ping 2>/dev/null | grep -qx PONG"
    )
    assert store.ping(APP) == as_demo(line)
    assert store.ping(SANDBOX_APP) == line.replace("/srv/rxpanel", "/x/srv")  # the login is the app
    assert store.ping(SUDO_APP).startswith("sudo -n -u rxa-demo env HOME=")


def test_flush_clears_the_apps_own_store_with_the_password_read_on_the_server():
    line = (
        "REDISCLI_AUTH=\"$(sed -n 's/^requirepass //p' /srv/rxpanel/demo/shared/.redis/redis.conf)\" "
        "redis-cli -s /srv/rxpanel/demo/shared/.redis/redis.sock flushdb | grep -qx OK"
    )
    assert store.flush(APP) == as_demo(line)
    assert store.flush(SANDBOX_APP) == line.replace("/srv/rxpanel", "/x/srv")
    for shell in SHELLS:
        assert_syntax(shell, "flush", store.flush(SUDO_APP))


def test_locate_says_what_to_install():
    cmd = store.locate()
    assert cmd.startswith("command -v redis-server || ")
    assert "apt-get install redis-server" in cmd and cmd.endswith(f"exit {store.MISSING}; }}")


def test_ensure_exact():
    assert store.ensure(SANDBOX_APP, "/x/srv/demo/tmp/redis.conf", "/x/srv/demo/tmp/p.conf") == (
        "mkdir -p /x/srv/demo/shared/.redis && chmod 0700 /x/srv/demo/shared/.redis && "
        "if cmp -s /x/srv/demo/tmp/redis.conf /x/srv/demo/shared/.redis/redis.conf; "
        "then rm -f /x/srv/demo/tmp/redis.conf; fresh=0; "
        "else mv -f /x/srv/demo/tmp/redis.conf /x/srv/demo/shared/.redis/redis.conf || exit 1; "
        "fresh=1; fi && "
        "install -m 0644 /x/srv/demo/tmp/p.conf /x/supervisor/rxpanel-demo-redis.conf && "
        "rm -f /x/srv/demo/tmp/p.conf && "
        "{ out=$(/usr/bin/supervisorctl -c /x/s.conf update rxpanel-demo-redis 2>&1); rc=$?; "
        '[ -z "$out" ] || echo "$out"; [ $rc = 0 ]; } && '
        'case "$out" in *"updated process group"*|*"added process group"*) ;; '
        "*) if [ $fresh = 1 ]; then /usr/bin/supervisorctl -c /x/s.conf restart rxpanel-demo-redis "
        ">/dev/null; else /usr/bin/supervisorctl -c /x/s.conf start rxpanel-demo-redis 2>&1 | "
        "grep -v 'already started' || true; fi ;; esac && "
        f"i=0; until {store.ping(SANDBOX_APP)}; do i=$((i+1)); [ $i -lt 50 ] || "
        "{ echo 'the state store (Redis) did not answer within 10 s: see "
        "/x/srv/demo/logs/redis.log' >&2; exit 1; }; sleep 0.2; done"
    )


def test_remove_exact():
    assert store.remove(APP) == (
        "{ supervisorctl stop rxpanel-demo-redis >/dev/null 2>&1 || true; "
        "rm -f /etc/supervisor/conf.d/rxpanel-demo-redis.conf; }"
    )


@pytest.mark.parametrize("shell", SHELLS)
@pytest.mark.parametrize("app", [APP, SUDO_APP, SANDBOX_APP], ids=["root", "sudo", "login"])
def test_syntax(shell, app):
    for name, cmd in {
        "locate": store.locate(),
        "ping": store.ping(app),
        "wait": store.wait(app),
        "ensure": store.ensure(app, f"{app.tmp}/r.conf", f"{app.tmp}/p.conf"),
        "current": store.current(app, "a" * 64, "b" * 64),
        "remove": store.remove(app),
    }.items():
        assert_syntax(shell, name, cmd)


def test_the_program_has_no_secret_and_runs_as_the_app_user():
    text = render_program(
        app="demo",
        program="rxpanel-demo-redis",
        server="/usr/bin/redis-server",
        conf=APP.store_conf,
        dir=APP.store_dir,
        user="rxa-demo",
        log="/srv/rxpanel/demo/logs/redis.log",
    )
    assert "[program:rxpanel-demo-redis]\n" in text
    assert "command=/usr/bin/redis-server /srv/rxpanel/demo/shared/.redis/redis.conf\n" in text
    assert "user=rxa-demo\n" in text


def test_the_conf_listens_on_its_socket_only():
    text = render_conf(app="demo", socket=APP.store_socket, dir=APP.store_dir, password=PASSWORD)
    assert "port 0\n" in text  # no TCP
    assert 'unixsocket "/srv/rxpanel/demo/shared/.redis/redis.sock"\n' in text
    assert "unixsocketperm 700\n" in text
    assert f"requirepass {PASSWORD}\n" in text
    with pytest.raises(ValueError):
        render_conf(app="demo", socket="/s", dir="/d", password="a b\nslaveof x")


@pytest.mark.skipif(not shutil.which("redis-server"), reason="needs Debian's redis-server")
def test_a_real_store_answers_the_generated_ping_and_reflexs_url(tmp_path):
    root = tmp_path / "dep loy"  # a space: quoted in the config, %20 in the URL
    confd = tmp_path / "conf.d"
    confd.mkdir()
    app = AppLayout(Host(user="me", deploy_root=str(root), supervisor_conf_dir=str(confd)), "demo")
    Path(app.store_dir).mkdir(parents=True)
    Path(app.store_conf).write_text(
        render_conf(app="demo", socket=app.store_socket, dir=app.store_dir, password=PASSWORD)
    )
    proc = subprocess.Popen(
        ["redis-server", app.store_conf], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        deadline = time.monotonic() + 10
        while subprocess.run(["sh", "-c", store.ping(app)]).returncode != 0:
            assert time.monotonic() < deadline, "the store never answered the ping"
            time.sleep(0.1)
        assert subprocess.run(["sh", "-c", store.wait(app, 2)]).returncode == 0
        import redis

        client = redis.Redis.from_url(store.url(app, PASSWORD))
        assert client.ping()
        bad = redis.Redis.from_url(store.url(app, "wrong"))
        with pytest.raises(redis.exceptions.AuthenticationError):
            bad.ping()
        # nothing to do when both files are what the panel would write and it answers
        (confd / f"{app.store_program}.conf").write_text("[program:x]\n")
        conf_sha = hashlib.sha256(Path(app.store_conf).read_bytes()).hexdigest()
        program_sha = hashlib.sha256(b"[program:x]\n").hexdigest()
        sh = lambda line: subprocess.run(["sh", "-c", line]).returncode  # noqa: E731
        assert sh(store.current(app, conf_sha, program_sha)) == 0
        assert sh(store.current(app, conf_sha, "0" * 64)) != 0  # another program file
        assert sh(store.current(app, "0" * 64, program_sha)) != 0  # another config
        client.set("reflex_state:tab", b"old")
        assert subprocess.run(["sh", "-c", store.flush(app)]).returncode == 0
        assert client.get("reflex_state:tab") is None
    finally:
        proc.terminate()
        proc.wait(10)
    assert sh(store.current(app, conf_sha, program_sha)) != 0  # the same files, but it is down
    said = subprocess.run(["sh", "-c", store.wait(app, 1)], capture_output=True, text=True)
    assert said.returncode == 1 and "did not answer within 1 s" in said.stderr


def test_cut_over_waits_for_open_connections_then_restarts_the_old_colour_if_it_runs():
    from rxpanel.deploy.commands import composite

    assert composite.cut_over(APP, "blue", 8100, 10) == (
        "i=20; while n=$(cat /proc/net/tcp /proc/net/tcp6 2>/dev/null | "
        "awk '$4 == \"01\" && $2 ~ /:1FA4$/ {n++} END {print n+0}'); "
        '[ "$n" -gt 0 ] && [ "$i" -gt 0 ]; do sleep 0.5; i=$((i - 1)); done; '
        'if [ "$n" = 0 ]; then echo "no open connections"; '
        "elif supervisorctl status rxpanel-demo-blue 2>/dev/null | grep -q RUNNING; then "
        'supervisorctl restart rxpanel-demo-blue >/dev/null && echo "restarted with $n open"; '
        "else echo 'not running'; fi"
    )
    for shell in SHELLS:
        assert_syntax(shell, "cut_over", composite.cut_over(SUDO_APP, "green", 8101, 0.2))
