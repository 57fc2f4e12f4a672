"""The remote command builders: exact strings, shell syntax, and behaviour.

The exact-string tests pin what is sent to a server. The behavioural tests run
the generated shell with dash and bash against a temporary directory (fake
`nginx`, `supervisorctl` and `python3` where a real one would need a server),
under a deploy root full of shell metacharacters: every value must arrive
literally, and nothing may run that was not meant to.
"""

from __future__ import annotations

import os
import shlex
import shutil
import socket
import stat
import subprocess
import threading
import time
import zipfile
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from rxpanel.deploy.commands import (
    AppLayout,
    Host,
    check,
    health,
    lock,
    nginx,
    other_color,
    q,
    release,
    sh,
    standby,
    supervisor,
    venv,
)
from rxpanel.deploy.templates.release import render_env_file

RID = "20261121T180102-ab12cd"
RID2 = "20261122T090000-cd34ef"
OWNER = "deployment #7 (cli@box)"
HASH = "0123abcd"

PLAIN = Host()
SUDO = Host(user="deploy", sudo=True)
SANDBOX = Host(
    user="rx",
    deploy_root="/x/srv",
    nginx_conf_dir="/x/nginx",
    nginx_cmd="/usr/sbin/nginx -c /x/nginx.conf -p /x/",
    supervisor_conf_dir="/x/supervisor",
    supervisorctl_cmd="/usr/bin/supervisorctl -c /x/s.conf",
)
SPACED = Host(deploy_root="/srv/my apps")

APP = AppLayout(PLAIN, "demo")
SUDO_APP = AppLayout(SUDO, "demo")
SANDBOX_APP = AppLayout(SANDBOX, "demo")
SPACED_APP = AppLayout(SPACED, "demo")

PORT_FREE = (
    "python3 -c 'import socket,sys;s=socket.socket();"
    "s.setsockopt(socket.SOL_SOCKET,socket.SO_REUSEADDR,1);"
    "s.bind(('\"'\"'127.0.0.1'\"'\"',int(sys.argv[1])));s.close()'"
)


# --------------------------------------------------------------------------- helpers


def simple_commands(cmd: str, privileged: bool = False):
    """(words, privileged) of each simple command in cmd, looking inside `sh -c SCRIPT`.

    A small reader of the lists these builders make (`a && b; c || d | e`,
    `{ ...; }` groups): enough to ask whether a step runs under sudo."""
    lexer = shlex.shlex(cmd, posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    words: list[str] = []
    for token in [*lexer, ";"]:
        if token in ("&&", "||", ";", "|", "&", ";;"):
            words = [w for w in words if w not in ("{", "}", "(", ")")]
            if words:
                yield from _simple(words, privileged)
            words = []
        else:
            words.append(token)


def _simple(words: list[str], privileged: bool):
    if words[:2] == ["sudo", "-n"]:
        words, privileged = words[2:], True
    if words[:2] == ["sh", "-c"]:
        yield from simple_commands(words[2], privileged)
        return
    yield words, privileged


def test_simple_commands_reader():
    cmd = "a && sudo -n b x; { c || sudo -n sh -c 'd && e'; }"
    assert list(simple_commands(cmd)) == [
        (["a"], False),
        (["b", "x"], True),
        (["c"], False),
        (["d"], True),
        (["e"], True),
    ]


# --------------------------------------------------------------------------- base


def test_layout_paths():
    assert APP.dir == "/srv/rxpanel/demo"
    assert APP.releases == "/srv/rxpanel/demo/releases"
    assert APP.release(RID) == f"/srv/rxpanel/demo/releases/{RID}"
    assert APP.venvs == "/srv/rxpanel/demo/venvs"
    assert APP.venv(HASH) == "/srv/rxpanel/demo/venvs/0123abcd"
    assert APP.current == "/srv/rxpanel/demo/current"
    assert APP.shared == "/srv/rxpanel/demo/shared"
    assert APP.logs == "/srv/rxpanel/demo/logs"
    assert APP.tmp == "/srv/rxpanel/demo/tmp"
    assert APP.lock == "/srv/rxpanel/demo/.lock"
    assert APP.live_marker == "/srv/rxpanel/demo/live"
    assert APP.standby_marker == "/srv/rxpanel/demo/standby"
    assert APP.program("blue") == "rxpanel-demo-blue"
    assert APP.program_conf("green") == "/etc/supervisor/conf.d/rxpanel-demo-green.conf"
    assert APP.program_log("blue") == "/srv/rxpanel/demo/logs/blue.log"
    assert APP.site_conf == "/etc/nginx/conf.d/rxpanel-demo.conf"
    assert SANDBOX_APP.program_conf("blue") == "/x/supervisor/rxpanel-demo-blue.conf"
    assert SANDBOX_APP.site_conf == "/x/nginx/rxpanel-demo.conf"


@pytest.mark.parametrize(("color", "other"), [("blue", "green"), ("green", "blue"), (None, "blue")])
def test_other_color(color, other):
    assert other_color(color) == other


def test_quoting_helpers():
    assert q("plain/path-1.2") == "plain/path-1.2"
    assert q("a b") == "'a b'"
    assert q("it's") == "'it'\"'\"'s'"
    assert q(8001) == "8001"
    assert sh("echo", "a b", "$(x)") == "echo 'a b' '$(x)'"


@pytest.mark.parametrize(
    ("host", "nginx_t", "ctl_status"),
    [
        (PLAIN, "nginx -t", "supervisorctl status x"),
        (SUDO, "sudo -n nginx -t", "sudo -n supervisorctl status x"),
        (
            SANDBOX,
            "/usr/sbin/nginx -c /x/nginx.conf -p /x/ -t",
            "/usr/bin/supervisorctl -c /x/s.conf status x",
        ),
    ],
    ids=["plain", "sudo", "sandbox"],
)
def test_host_tool_lines(host, nginx_t, ctl_status):
    assert host.nginx("-t") == nginx_t
    assert host.supervisorctl("status", "x") == ctl_status


def test_host_tool_lines_quote_arguments():
    assert PLAIN.nginx("-s", "re load") == "nginx -s 're load'"
    assert PLAIN.supervisorctl("stop", "a;b") == "supervisorctl stop 'a;b'"


# --------------------------------------------------------------------------- exact strings


def test_lock_acquire_string():
    cmd = lock.acquire(APP, OWNER)
    # The refusal message is not pinned here: how it prints the owner is checked by
    # behaviour, under dash and bash (test_lock_refusal_reports_owner_literally).
    assert cmd.startswith(
        "mkdir -p /srv/rxpanel/demo && if mkdir /srv/rxpanel/demo/.lock 2>/dev/null; "
        "then printf '%s\\n' 'deployment #7 (cli@box)' > /srv/rxpanel/demo/.lock/owner; else "
    )
    assert "cat /srv/rxpanel/demo/.lock/owner 2>/dev/null || echo unknown" in cmd
    assert cmd.endswith(" >&2; exit 75; fi")
    assert lock.LOCKED_EXIT == 75


EXACT = [
    pytest.param(
        lock.release(APP, OWNER),
        "if [ \"$(cat /srv/rxpanel/demo/.lock/owner 2>/dev/null)\" = 'deployment #7 (cli@box)' ]; "
        "then rm -rf /srv/rxpanel/demo/.lock; fi",
        id="lock.release",
    ),
    pytest.param(
        lock.release(SPACED_APP, OWNER),
        "if [ \"$(cat '/srv/my apps/demo/.lock'/owner 2>/dev/null)\" = 'deployment #7 (cli@box)' ]; "
        "then rm -rf '/srv/my apps/demo/.lock'; fi",
        id="lock.release-spaced",
    ),
    pytest.param(
        lock.owner(APP), "cat /srv/rxpanel/demo/.lock/owner 2>/dev/null || true", id="lock.owner"
    ),
    pytest.param(
        release.prepare(APP),
        "mkdir -p /srv/rxpanel/demo/releases /srv/rxpanel/demo/venvs /srv/rxpanel/demo/shared "
        "/srv/rxpanel/demo/shared/home /srv/rxpanel/demo/logs /srv/rxpanel/demo/tmp",
        id="release.prepare",
    ),
    pytest.param(
        release.unpack_backend(APP, RID, "/srv/rxpanel/demo/tmp/b.zip"),
        f"rm -rf /srv/rxpanel/demo/releases/{RID} && "
        f"mkdir -p /srv/rxpanel/demo/releases/{RID}/backend && "
        f"python3 -c {shlex.quote(release.UNZIP)} "
        f"/srv/rxpanel/demo/tmp/b.zip /srv/rxpanel/demo/releases/{RID}/backend && "
        "rm -f /srv/rxpanel/demo/tmp/b.zip",
        id="release.unpack_backend",
    ),
    pytest.param(
        release.unpack_frontend(APP, RID, "/srv/rxpanel/demo/tmp/f.zip"),
        f"rm -rf /srv/rxpanel/demo/releases/{RID}/frontend && "
        f"mkdir -p /srv/rxpanel/demo/releases/{RID}/frontend && "
        f"python3 -c {shlex.quote(release.UNZIP)} "
        f"/srv/rxpanel/demo/tmp/f.zip /srv/rxpanel/demo/releases/{RID}/frontend && "
        "rm -f /srv/rxpanel/demo/tmp/f.zip && "
        f"mv /srv/rxpanel/demo/releases/{RID}/release.json.part "
        f"/srv/rxpanel/demo/releases/{RID}/release.json",
        id="release.unpack_frontend",
    ),
    pytest.param(
        release.exists(APP, RID),
        f"test -f /srv/rxpanel/demo/releases/{RID}/release.json",
        id="release.exists",
    ),
    pytest.param(
        release.list_ids(APP),
        "ls -1 /srv/rxpanel/demo/releases 2>/dev/null || true",
        id="release.list_ids",
    ),
    pytest.param(
        release.activate(APP, RID, "green"),
        f"ln -sfn releases/{RID} /srv/rxpanel/demo/.current.tmp && "
        "mv -T /srv/rxpanel/demo/.current.tmp /srv/rxpanel/demo/current && "
        f"printf '%s %s\\n' green {RID} > /srv/rxpanel/demo/live",
        id="release.activate",
    ),
    pytest.param(
        release.activate(SPACED_APP, RID, "blue"),
        f"ln -sfn releases/{RID} '/srv/my apps/demo/.current.tmp' && "
        "mv -T '/srv/my apps/demo/.current.tmp' '/srv/my apps/demo/current' && "
        f"printf '%s %s\\n' blue {RID} > '/srv/my apps/demo/live'",
        id="release.activate-spaced",
    ),
    pytest.param(
        release.read_live(APP), "cat /srv/rxpanel/demo/live 2>/dev/null || true", id="read_live"
    ),
    pytest.param(
        release.remove(APP, [RID, RID2]),
        f"rm -rf /srv/rxpanel/demo/releases/{RID} /srv/rxpanel/demo/releases/{RID2}",
        id="release.remove",
    ),
    pytest.param(release.remove(APP, []), "true", id="release.remove-none"),
    pytest.param(
        release.remove_venvs_except(APP, ["h2", "h1", "h2"]),
        'cd /srv/rxpanel/demo/venvs 2>/dev/null && for v in *; do [ -d "$v" ] || continue; '
        'keep=0; for k in h1 h2; do [ "$v" = "$k" ] && keep=1; done; '
        '[ $keep = 1 ] || rm -rf -- "$v" "$v.requirements.txt"; done; true',
        id="release.remove_venvs_except",
    ),
    pytest.param(
        release.remove_venvs_except(SPACED_APP, []),
        "cd '/srv/my apps/demo/venvs' 2>/dev/null && for v in *; do [ -d \"$v\" ] || continue; "
        'keep=0; for k in \'\'; do [ "$v" = "$k" ] && keep=1; done; '
        '[ $keep = 1 ] || rm -rf -- "$v" "$v.requirements.txt"; done; true',
        id="release.remove_venvs_except-none",
    ),
    pytest.param(
        release.tail_log(APP, "blue"),
        "tail -n 30 /srv/rxpanel/demo/logs/blue.log 2>/dev/null || true",
        id="release.tail_log",
    ),
    pytest.param(
        release.tail_log(APP, "green", lines=5),
        "tail -n 5 /srv/rxpanel/demo/logs/green.log 2>/dev/null || true",
        id="release.tail_log-5",
    ),
    pytest.param(
        venv.ensure(APP, HASH),
        "if [ -f /srv/rxpanel/demo/venvs/0123abcd/.rxpanel-complete ]; then echo 'server venv exists'; "
        "else rm -rf /srv/rxpanel/demo/venvs/0123abcd && python3 -m venv /srv/rxpanel/demo/venvs/0123abcd && "
        "/srv/rxpanel/demo/venvs/0123abcd/bin/pip install --disable-pip-version-check --no-input "
        "--progress-bar off -r /srv/rxpanel/demo/venvs/0123abcd.requirements.txt && "
        "touch /srv/rxpanel/demo/venvs/0123abcd/.rxpanel-complete && echo 'server venv created'; fi",
        id="venv.ensure",
    ),
    pytest.param(
        venv.exists(APP, HASH),
        "test -f /srv/rxpanel/demo/venvs/0123abcd/.rxpanel-complete",
        id="venv.exists",
    ),
    pytest.param(
        venv.requirements_path(APP, HASH),
        "/srv/rxpanel/demo/venvs/0123abcd.requirements.txt",
        id="venv.requirements_path",
    ),
    pytest.param(
        venv.migrate(APP, RID, HASH),
        f"if [ -d /srv/rxpanel/demo/releases/{RID}/backend/alembic ]; then "
        f"cd /srv/rxpanel/demo/releases/{RID}/backend && set -a && "
        f". /srv/rxpanel/demo/releases/{RID}/env && set +a && "
        "/srv/rxpanel/demo/venvs/0123abcd/bin/reflex db migrate; "
        "else echo 'no alembic/ in the app: no migrations'; fi",
        id="venv.migrate",
    ),
    pytest.param(
        supervisor.start(APP, "blue", 8001, "/srv/rxpanel/demo/tmp/rxpanel-demo-blue.conf"),
        "{ supervisorctl stop rxpanel-demo-blue >/dev/null 2>&1 || true; } && "
        '{ ! { cat /proc/net/tcp /proc/net/tcp6 2>/dev/null | awk \'$4 == "0A" && '
        "$2 ~ /:1F41$/ {found=1} END {exit !found}'; "
        "} || { echo 'port 8001 is in use by another process on the server' >&2; exit 98; }; "
        "} && "
        "install -m 0644 /srv/rxpanel/demo/tmp/rxpanel-demo-blue.conf /etc/supervisor/conf.d/rxpanel-demo-blue.conf && "
        "rm -f /srv/rxpanel/demo/tmp/rxpanel-demo-blue.conf && "
        "truncate -s 0 /srv/rxpanel/demo/logs/blue.log && "
        "{ out=$(supervisorctl update rxpanel-demo-blue 2>&1); rc=$?; "
        '[ -z "$out" ] || echo "$out"; [ $rc = 0 ]; } && '
        'case "$out" in *"updated process group"*|*"added process group"*) ;; '
        "*) supervisorctl start rxpanel-demo-blue 2>&1 | grep -v 'already started' || true ;; "
        "esac",
        id="supervisor.start",
    ),
    pytest.param(
        supervisor.start(SANDBOX_APP, "green", 8002, "/x/srv/demo/tmp/p.conf"),
        "{ /usr/bin/supervisorctl -c /x/s.conf stop rxpanel-demo-green >/dev/null 2>&1 || true; "
        '} && { ! { cat /proc/net/tcp /proc/net/tcp6 2>/dev/null | awk \'$4 == "0A" && '
        "$2 ~ /:1F42$/ {found=1} END {exit !found}'; "
        "} || { echo 'port 8002 is in use by another process on the server' >&2; exit 98; }; "
        "} && install -m 0644 /x/srv/demo/tmp/p.conf /x/supervisor/rxpanel-demo-green.conf && "
        "rm -f /x/srv/demo/tmp/p.conf && truncate -s 0 /x/srv/demo/logs/green.log && "
        "{ out=$(/usr/bin/supervisorctl -c /x/s.conf update rxpanel-demo-green 2>&1); rc=$?; "
        '[ -z "$out" ] || echo "$out"; [ $rc = 0 ]; } && '
        'case "$out" in *"updated process group"*|*"added process group"*) ;; '
        "*) /usr/bin/supervisorctl -c /x/s.conf start rxpanel-demo-green 2>&1 | grep -v 'already started' || true ;; "
        "esac",
        id="supervisor.start-sandbox",
    ),
    pytest.param(
        supervisor.stop(APP, "blue"), "supervisorctl stop rxpanel-demo-blue || true", id="stop"
    ),
    pytest.param(
        supervisor.stop(SUDO_APP, "blue"),
        "sudo -n supervisorctl stop rxpanel-demo-blue || true",
        id="supervisor.stop-sudo",
    ),
    pytest.param(
        supervisor.status(SANDBOX_APP, "green"),
        "/usr/bin/supervisorctl -c /x/s.conf status rxpanel-demo-green || true",
        id="supervisor.status-sandbox",
    ),
    pytest.param(
        supervisor.remove(APP),
        "{ supervisorctl stop rxpanel-demo-blue >/dev/null 2>&1 || true; "
        "rm -f /etc/supervisor/conf.d/rxpanel-demo-blue.conf; "
        "supervisorctl stop rxpanel-demo-green >/dev/null 2>&1 || true; "
        "rm -f /etc/supervisor/conf.d/rxpanel-demo-green.conf; "
        "supervisorctl update >/dev/null 2>&1 || true; }",
        id="supervisor.remove",
    ),
    pytest.param(
        supervisor.remove(SUDO_APP),
        "{ sudo -n supervisorctl stop rxpanel-demo-blue >/dev/null 2>&1 || true; "
        "sudo -n rm -f /etc/supervisor/conf.d/rxpanel-demo-blue.conf; "
        "sudo -n supervisorctl stop rxpanel-demo-green >/dev/null 2>&1 || true; "
        "sudo -n rm -f /etc/supervisor/conf.d/rxpanel-demo-green.conf; "
        "sudo -n supervisorctl update >/dev/null 2>&1 || true; }",
        id="supervisor.remove-sudo",
    ),
    pytest.param(
        nginx.install_site(APP, "/srv/rxpanel/demo/tmp/site.conf"),
        "{ rm -f /srv/rxpanel/demo/site.prev; "
        "[ ! -f /etc/nginx/conf.d/rxpanel-demo.conf ] || cp -p /etc/nginx/conf.d/rxpanel-demo.conf /srv/rxpanel/demo/site.prev; "
        "} && "
        "install -m 0644 /srv/rxpanel/demo/tmp/site.conf /etc/nginx/conf.d/rxpanel-demo.conf && "
        "rm -f /srv/rxpanel/demo/tmp/site.conf && "
        "if ! nginx -t 2>/srv/rxpanel/demo/tmp/nginx.out; "
        "then cat /srv/rxpanel/demo/tmp/nginx.out >&2; if [ -f /srv/rxpanel/demo/site.prev ]; "
        "then install -m 0644 /srv/rxpanel/demo/site.prev /etc/nginx/conf.d/rxpanel-demo.conf; "
        "else rm -f /etc/nginx/conf.d/rxpanel-demo.conf; fi; "
        "echo 'nginx -t failed: the previous site config was kept' >&2; exit 1; fi && "
        "if ! nginx -s reload 2>/srv/rxpanel/demo/tmp/nginx.out; "
        "then cat /srv/rxpanel/demo/tmp/nginx.out >&2; if [ -f /srv/rxpanel/demo/site.prev ]; "
        "then install -m 0644 /srv/rxpanel/demo/site.prev /etc/nginx/conf.d/rxpanel-demo.conf; "
        "else rm -f /etc/nginx/conf.d/rxpanel-demo.conf; fi; "
        "echo 'nginx reload failed: the previous site config was kept' >&2; exit 1; fi",
        id="nginx.install_site",
    ),
    pytest.param(
        nginx.install_site(SUDO_APP, "/srv/rxpanel/demo/tmp/site.conf"),
        "{ rm -f /srv/rxpanel/demo/site.prev; "
        "[ ! -f /etc/nginx/conf.d/rxpanel-demo.conf ] || cp -p /etc/nginx/conf.d/rxpanel-demo.conf /srv/rxpanel/demo/site.prev; "
        "} && "
        "sudo -n install -m 0644 /srv/rxpanel/demo/tmp/site.conf /etc/nginx/conf.d/rxpanel-demo.conf && "
        "rm -f /srv/rxpanel/demo/tmp/site.conf && "
        "if ! sudo -n nginx -t 2>/srv/rxpanel/demo/tmp/nginx.out; "
        "then cat /srv/rxpanel/demo/tmp/nginx.out >&2; if [ -f /srv/rxpanel/demo/site.prev ]; "
        "then sudo -n install -m 0644 /srv/rxpanel/demo/site.prev /etc/nginx/conf.d/rxpanel-demo.conf; "
        "else sudo -n rm -f /etc/nginx/conf.d/rxpanel-demo.conf; fi; "
        "echo 'nginx -t failed: the previous site config was kept' >&2; exit 1; fi && "
        "if ! sudo -n nginx -s reload 2>/srv/rxpanel/demo/tmp/nginx.out; "
        "then cat /srv/rxpanel/demo/tmp/nginx.out >&2; if [ -f /srv/rxpanel/demo/site.prev ]; "
        "then sudo -n install -m 0644 /srv/rxpanel/demo/site.prev /etc/nginx/conf.d/rxpanel-demo.conf; "
        "else sudo -n rm -f /etc/nginx/conf.d/rxpanel-demo.conf; fi; "
        "echo 'nginx reload failed: the previous site config was kept' >&2; exit 1; fi",
        id="nginx.install_site-sudo",
    ),
    pytest.param(
        nginx.install_site(SANDBOX_APP, "/x/srv/demo/tmp/site.conf"),
        "{ rm -f /x/srv/demo/site.prev; "
        "[ ! -f /x/nginx/rxpanel-demo.conf ] || cp -p /x/nginx/rxpanel-demo.conf /x/srv/demo/site.prev; "
        "} && install -m 0644 /x/srv/demo/tmp/site.conf /x/nginx/rxpanel-demo.conf && "
        "rm -f /x/srv/demo/tmp/site.conf && "
        "if ! /usr/sbin/nginx -c /x/nginx.conf -p /x/ -t 2>/x/srv/demo/tmp/nginx.out; "
        "then cat /x/srv/demo/tmp/nginx.out >&2; if [ -f /x/srv/demo/site.prev ]; "
        "then install -m 0644 /x/srv/demo/site.prev /x/nginx/rxpanel-demo.conf; "
        "else rm -f /x/nginx/rxpanel-demo.conf; fi; "
        "echo 'nginx -t failed: the previous site config was kept' >&2; exit 1; fi && "
        "if ! /usr/sbin/nginx -c /x/nginx.conf -p /x/ -s reload 2>/x/srv/demo/tmp/nginx.out; "
        "then cat /x/srv/demo/tmp/nginx.out >&2; if [ -f /x/srv/demo/site.prev ]; "
        "then install -m 0644 /x/srv/demo/site.prev /x/nginx/rxpanel-demo.conf; "
        "else rm -f /x/nginx/rxpanel-demo.conf; fi; "
        "echo 'nginx reload failed: the previous site config was kept' >&2; exit 1; fi",
        id="nginx.install_site-sandbox",
    ),
    pytest.param(
        nginx.remove_site(APP),
        "rm -f /etc/nginx/conf.d/rxpanel-demo.conf && nginx -s reload",
        id="nginx.remove_site",
    ),
    pytest.param(
        nginx.remove_site(SUDO_APP),
        "sudo -n rm -f /etc/nginx/conf.d/rxpanel-demo.conf && sudo -n nginx -s reload",
        id="nginx.remove_site-sudo",
    ),
    pytest.param(
        nginx.remove_site(SANDBOX_APP),
        "rm -f /x/nginx/rxpanel-demo.conf && /usr/sbin/nginx -c /x/nginx.conf -p /x/ -s reload",
        id="nginx.remove_site-sandbox",
    ),
    pytest.param(
        health.gate(APP, "green", 8002, "/ping", 60),
        f"python3 -c {shlex.quote(health.GATE)} 8002 /ping 60 supervisorctl status rxpanel-demo-green",
        id="health.gate",
    ),
    pytest.param(
        health.gate(SUDO_APP, "blue", 8001, "/a b", 2.5),
        f"python3 -c {shlex.quote(health.GATE)} 8001 '/a b' 2.5 "
        "sudo -n supervisorctl status rxpanel-demo-blue",
        id="health.gate-sudo",
    ),
    pytest.param(
        health.gate(SANDBOX_APP, "blue", 8001, "/_health", 90.0),
        f"python3 -c {shlex.quote(health.GATE)} 8001 /_health 90 "
        "/usr/bin/supervisorctl -c /x/s.conf status rxpanel-demo-blue",
        id="health.gate-sandbox",
    ),
    pytest.param(
        standby.mark(APP, "blue", RID),
        f"printf '%s %s\\n' blue {RID} > /srv/rxpanel/demo/standby",
        id="standby.mark",
    ),
    pytest.param(standby.clear(APP), "rm -f /srv/rxpanel/demo/standby", id="standby.clear"),
    pytest.param(
        standby.read(APP), "cat /srv/rxpanel/demo/standby 2>/dev/null || true", id="standby.read"
    ),
    pytest.param(
        standby.schedule_stop(APP, "blue", RID, 900),
        "( setsid nohup sh -c 'sleep 900; n=0; while [ $n -lt 720 ]; do "
        "if mkdir /srv/rxpanel/demo/.lock 2>/dev/null; then "
        "echo standby-stop > /srv/rxpanel/demo/.lock/owner; "
        'if [ "$(cat /srv/rxpanel/demo/standby 2>/dev/null)" = '
        f"'\"'\"'blue {RID}'\"'\"' ]; then "
        "supervisorctl stop rxpanel-demo-blue; rm -f /srv/rxpanel/demo/standby; fi; "
        "rm -rf /srv/rxpanel/demo/.lock; exit 0; fi; n=$((n+1)); sleep 5; done' "
        ">/dev/null 2>&1 < /dev/null & )",
        id="standby.schedule_stop",
    ),
    pytest.param(
        standby.schedule_stop(SANDBOX_APP, "green", RID, 0.5),
        "( setsid nohup sh -c 'sleep 0; n=0; while [ $n -lt 720 ]; do "
        "if mkdir /x/srv/demo/.lock 2>/dev/null; then "
        "echo standby-stop > /x/srv/demo/.lock/owner; "
        'if [ "$(cat /x/srv/demo/standby 2>/dev/null)" = '
        f"'\"'\"'green {RID}'\"'\"' ]; then "
        "/usr/bin/supervisorctl -c /x/s.conf stop rxpanel-demo-green; rm -f /x/srv/demo/standby; fi; "
        "rm -rf /x/srv/demo/.lock; exit 0; fi; n=$((n+1)); sleep 5; done' "
        ">/dev/null 2>&1 < /dev/null & )",
        id="standby.schedule_stop-sandbox",
    ),
    pytest.param(
        check.writable(PLAIN, "/srv/my apps"),
        "sh -c 'mkdir -p '\"'\"'/srv/my apps'\"'\"' && test -w '\"'\"'/srv/my apps'\"'\"''",
        id="check.writable",
    ),
    pytest.param(
        check.writable(SUDO, "/etc/nginx/conf.d"),
        "sudo -n sh -c 'mkdir -p /etc/nginx/conf.d && test -w /etc/nginx/conf.d'",
        id="check.writable-sudo",
    ),
]


@pytest.mark.parametrize(("cmd", "expected"), EXACT)
def test_exact_string(cmd, expected):
    assert cmd == expected


PYTHON_OK = (
    "python3 -c 'import sys, venv, ensurepip; v = sys.version_info; "
    "print('\"'\"'python %d.%d.%d with venv'\"'\"' % v[:3]); sys.exit(0 if v >= (3, 10) else 1)'"
)


def test_check_items_plain():
    assert check.items(PLAIN) == [
        ("SSH login", 'echo "logged in as $(id -un) on $(hostname)"'),
        ("python3 >= 3.10 with venv", PYTHON_OK),
        ("nginx -t", "nginx -t 2>&1"),
        (
            "supervisorctl reachable",
            'pid=$(supervisorctl pid 2>&1); case "$pid" in \'\'|*[!0-9]*) echo "$pid"; exit 1 ;; *) echo "supervisord pid $pid" ;; esac',
        ),
        ("deploy root writable", "mkdir -p /srv/rxpanel 2>/dev/null && test -w /srv/rxpanel"),
        (
            "nginx conf dir writable",
            "sh -c 'mkdir -p /etc/nginx/conf.d && test -w /etc/nginx/conf.d'",
        ),
        (
            "supervisor conf dir writable",
            "sh -c 'mkdir -p /etc/supervisor/conf.d && test -w /etc/supervisor/conf.d'",
        ),
    ]


def test_check_items_sandbox():
    assert check.items(SANDBOX) == [
        ("SSH login", 'echo "logged in as $(id -un) on $(hostname)"'),
        ("python3 >= 3.10 with venv", PYTHON_OK),
        ("nginx -t", "/usr/sbin/nginx -c /x/nginx.conf -p /x/ -t 2>&1"),
        (
            "supervisorctl reachable",
            'pid=$(/usr/bin/supervisorctl -c /x/s.conf pid 2>&1); case "$pid" in '
            '\'\'|*[!0-9]*) echo "$pid"; exit 1 ;; *) echo "supervisord pid $pid" ;; esac',
        ),
        ("deploy root writable", "mkdir -p /x/srv 2>/dev/null && test -w /x/srv"),
        ("nginx conf dir writable", "sh -c 'mkdir -p /x/nginx && test -w /x/nginx'"),
        ("supervisor conf dir writable", "sh -c 'mkdir -p /x/supervisor && test -w /x/supervisor'"),
    ]


def test_check_items_sudo():
    items = dict(check.items(SUDO))
    assert list(items) == [label for label, _ in check.items(PLAIN)]
    assert items["nginx -t"] == "sudo -n nginx -t 2>&1"
    assert (
        items["supervisorctl reachable"]
        == 'pid=$(sudo -n supervisorctl pid 2>&1); case "$pid" in \'\'|*[!0-9]*) echo "$pid"; exit 1 ;; *) echo "supervisord pid $pid" ;; esac'
    )
    assert items["nginx conf dir writable"] == (
        "sudo -n sh -c 'mkdir -p /etc/nginx/conf.d && test -w /etc/nginx/conf.d'"
    )
    assert items["supervisor conf dir writable"] == (
        "sudo -n sh -c 'mkdir -p /etc/supervisor/conf.d && test -w /etc/supervisor/conf.d'"
    )


@pytest.mark.parametrize("host", [PLAIN, SUDO, SANDBOX], ids=["plain", "sudo", "sandbox"])
def test_check_tests_writability_as_whoever_writes(host):
    """The conf dirs are written through `priv` (install), so they are tested that way;
    the deploy root is written by the SSH user itself (lock, prepare, unpack, activate
    never use sudo), so it must be tested as that user: as root, `test -w` always
    passes, and `sudo mkdir -p` would leave a root-owned deploy root behind."""
    items = dict(check.items(host))

    def test_w_privileges(label):
        return [p for words, p in simple_commands(items[label]) if words[:2] == ["test", "-w"]]

    assert test_w_privileges("deploy root writable") == [False]
    assert test_w_privileges("nginx conf dir writable") == [host.sudo]
    assert test_w_privileges("supervisor conf dir writable") == [host.sudo]


def test_supervisor_start_sudo():
    """Privileged steps use sudo; the truncation of the program log too: supervisord
    (root) creates that log, so the SSH user cannot write it on the second start."""
    log = "/srv/rxpanel/demo/logs/blue.log"
    cmd = supervisor.start(SUDO_APP, "blue", 8001, "/srv/rxpanel/demo/tmp/rxpanel-demo-blue.conf")
    assert cmd == " && ".join(
        [
            "{ sudo -n supervisorctl stop rxpanel-demo-blue >/dev/null 2>&1 || true; }",
            f"{{ ! {{ {supervisor.port_listening(8001)}; }} || "
            "{ echo 'port 8001 is in use by another process on the server' >&2; exit 98; }; }",
            "sudo -n install -m 0644 /srv/rxpanel/demo/tmp/rxpanel-demo-blue.conf "
            "/etc/supervisor/conf.d/rxpanel-demo-blue.conf",
            "rm -f /srv/rxpanel/demo/tmp/rxpanel-demo-blue.conf",
            f"sudo -n truncate -s 0 {log}",
            "{ out=$(sudo -n supervisorctl update rxpanel-demo-blue 2>&1); rc=$?; "
            '[ -z "$out" ] || echo "$out"; [ $rc = 0 ]; }',
            'case "$out" in *"updated process group"*|*"added process group"*) ;; '
            "*) sudo -n supervisorctl start rxpanel-demo-blue 2>&1 | grep -v 'already started' "
            "|| true ;; esac",
        ]
    )
    touching_log = [p for words, p in simple_commands(cmd) if log in words]
    assert touching_log, "the program log is no longer emptied before a start"
    assert all(touching_log), f"the program log is emptied without sudo: {cmd}"


def test_deploy_root_commands_never_use_sudo():
    """Everything under the deploy root runs as the SSH user, sudo host or not."""
    for build in (
        lambda a: lock.acquire(a, OWNER),
        lambda a: lock.release(a, OWNER),
        lambda a: release.prepare(a),
        lambda a: release.unpack_backend(a, RID, "/t/b.zip"),
        lambda a: release.unpack_frontend(a, RID, "/t/f.zip"),
        lambda a: release.activate(a, RID, "blue"),
        lambda a: release.remove(a, [RID]),
        lambda a: release.remove_venvs_except(a, [HASH]),
        lambda a: venv.ensure(a, HASH),
        lambda a: venv.migrate(a, RID, HASH),
        lambda a: standby.mark(a, "blue", RID),
        lambda a: standby.clear(a),
    ):
        assert build(SUDO_APP) == build(APP)
        assert "sudo" not in build(SUDO_APP)


# --------------------------------------------------------------------------- syntax

SHELLS = ["dash", "bash"]
WEIRD = "we ird 'sq' \"dq\" $(touch pwned1) `touch pwned2` ; touch pwned3 & * \\n"
WEIRD_OWNER = "me 'sq' \"dq\" $(touch pwned4); touch pwned5 & `touch pwned6` C:\\new\\tmp"


def all_commands(app: AppLayout) -> dict[str, str]:
    cmds = {
        "lock.acquire": lock.acquire(app, WEIRD_OWNER),
        "lock.release": lock.release(app, WEIRD_OWNER),
        "lock.owner": lock.owner(app),
        "release.prepare": release.prepare(app),
        "release.unpack_backend": release.unpack_backend(app, RID, f"{app.tmp}/b.zip"),
        "release.unpack_frontend": release.unpack_frontend(app, RID, f"{app.tmp}/f.zip"),
        "release.exists": release.exists(app, RID),
        "release.list_ids": release.list_ids(app),
        "release.activate": release.activate(app, RID, "blue"),
        "release.read_live": release.read_live(app),
        "release.remove": release.remove(app, [RID, RID2]),
        "release.remove-none": release.remove(app, []),
        "release.remove_venvs_except": release.remove_venvs_except(app, [HASH, "a b"]),
        "release.remove_venvs_except-none": release.remove_venvs_except(app, []),
        "release.tail_log": release.tail_log(app, "blue"),
        "venv.ensure": venv.ensure(app, HASH),
        "venv.exists": venv.exists(app, HASH),
        "venv.migrate": venv.migrate(app, RID, HASH),
        "supervisor.start": supervisor.start(app, "blue", 8001, f"{app.tmp}/p.conf"),
        "supervisor.stop": supervisor.stop(app, "blue"),
        "supervisor.status": supervisor.status(app, "green"),
        "supervisor.remove": supervisor.remove(app),
        "nginx.install_site": nginx.install_site(app, f"{app.tmp}/site.conf"),
        "nginx.remove_site": nginx.remove_site(app),
        "health.gate": health.gate(app, "green", 8002, "/ping", 60),
        "standby.mark": standby.mark(app, "blue", RID),
        "standby.clear": standby.clear(app),
        "standby.read": standby.read(app),
        "standby.schedule_stop": standby.schedule_stop(app, "blue", RID, 900),
    }
    for label, cmd in check.items(app.host):
        cmds[f"check {label}"] = cmd
    return cmds


def inner_scripts(cmd: str) -> list[str]:
    """The SCRIPT of each `sh -c SCRIPT` inside cmd (they are only strings to the outer -n)."""
    words = shlex.split(cmd)
    return [words[i + 2] for i in range(len(words) - 2) if words[i : i + 2] == ["sh", "-c"]]


SYNTAX_CASES = [
    pytest.param(name, cmd, id=f"{host_id}-{name}")
    for host_id, host in [
        ("plain", PLAIN),
        ("sudo", SUDO),
        ("sandbox", SANDBOX),
        ("weird", Host(deploy_root=f"/tmp/{WEIRD}", nginx_conf_dir=f"/tmp/{WEIRD}/n")),
    ]
    for name, cmd in all_commands(AppLayout(host, "demo")).items()
]


@pytest.mark.parametrize("shell", SHELLS)
@pytest.mark.parametrize(("name", "cmd"), SYNTAX_CASES)
def test_syntax(shell, name, cmd):
    for script in [cmd, *inner_scripts(cmd)]:
        result = subprocess.run([shell, "-n", "-c", script], capture_output=True, text=True)
        assert result.returncode == 0, f"{shell} -n rejects {name}: {result.stderr}\n{script}"


def test_inner_scripts_are_found():
    assert inner_scripts(standby.schedule_stop(APP, "blue", RID, 1)) == [
        "sleep 1; n=0; while [ $n -lt 720 ]; do if mkdir /srv/rxpanel/demo/.lock 2>/dev/null; "
        "then echo standby-stop > /srv/rxpanel/demo/.lock/owner; "
        f"if [ \"$(cat /srv/rxpanel/demo/standby 2>/dev/null)\" = 'blue {RID}' ]; then "
        "supervisorctl stop rxpanel-demo-blue; rm -f /srv/rxpanel/demo/standby; fi; "
        "rm -rf /srv/rxpanel/demo/.lock; exit 0; fi; n=$((n+1)); sleep 5; done"
    ]


# --------------------------------------------------------------------------- behaviour

FAKE_NGINX = """\
#!/bin/sh
printf '%s\\n' "nginx $*" >> {calls}
case " $* " in
*" -t "*)
    if grep -rqs BROKEN {conf_dir}; then
        echo 'nginx: [emerg] unknown directive "BROKEN"' >&2
        exit 1
    fi
    echo 'nginx: configuration file test is successful' >&2
    exit 0;;
*" -s reload "*)
    exit "${{RELOAD_EXIT:-0}}";;
esac
"""

FAKE_SUPERVISORCTL = """\
#!/bin/sh
printf '%s\\n' "supervisorctl $*" >> {calls}
case " $* " in
*" start "*) printf '%s\\n' "${{SUP_START_OUT:-started}}";;
*" update "*) [ -z "${{SUP_UPDATE_OUT:-}}" ] || printf '%s\\n' "$SUP_UPDATE_OUT";;
*" status "*) printf '%s\\n' "${{SUP_STATUS:-}}";;
*" pid "*) printf '%s\\n' "${{SUP_PID:-4242}}";;
esac
exit 0
"""

FAKE_PYTHON3 = """\
#!/bin/sh
printf '%s\\n' "python3 $*" >> {calls}
[ "$1" = -m ] && [ "$2" = venv ] || exit 2
mkdir -p "$3/bin" && cat > "$3/bin/pip" <<'EOF'
#!/bin/sh
printf '%s\\n' "pip $*" >> {calls}
exit "${{PIP_EXIT:-0}}"
EOF
chmod +x "$3/bin/pip"
"""


def write_script(path: Path, text: str) -> Path:
    path.write_text(text)
    path.chmod(0o755)
    return path


@dataclass
class World:
    """A fake server in a temporary directory, driven by one shell."""

    tmp: Path
    shell: str
    app: AppLayout
    bin: Path
    calls_file: Path
    cwd: Path

    def run(self, cmd: str, *, path: list[Path] = (), timeout: float = 20, **env: str):
        search = ":".join([*map(str, path), str(self.bin), "/usr/sbin:/usr/bin:/sbin:/bin"])
        result = subprocess.run(
            [self.shell, "-c", cmd],
            cwd=self.cwd,
            env={"PATH": search, "HOME": str(self.tmp), "LC_ALL": "C", **env},
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        injected = sorted(str(p) for p in self.tmp.rglob("pwned*"))
        assert not injected, f"a value was run as a command: {injected}\n{cmd}"
        return result

    def calls(self) -> list[str]:
        return self.calls_file.read_text().splitlines() if self.calls_file.exists() else []


@pytest.fixture(params=SHELLS)
def world(request, tmp_path: Path) -> World:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    calls = tmp_path / "calls.log"
    root = tmp_path / WEIRD
    host = Host(
        user="rx",
        deploy_root=str(root / "srv"),
        nginx_conf_dir=str(root / "nginx"),
        nginx_cmd=f"{bin_dir}/nginx -c /x/nginx.conf",
        supervisor_conf_dir=str(root / "supervisor"),
        supervisorctl_cmd=f"{bin_dir}/supervisorctl -c /x/s.conf",
    )
    (root / "nginx").mkdir(parents=True)
    (root / "supervisor").mkdir()
    fill = {"calls": q(calls), "conf_dir": q(root / "nginx")}
    write_script(bin_dir / "nginx", FAKE_NGINX.format(**fill))
    write_script(bin_dir / "supervisorctl", FAKE_SUPERVISORCTL.format(**fill))
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    return World(tmp_path, request.param, AppLayout(host, "demo"), bin_dir, calls, cwd)


def test_world_catches_injection(world):
    """The guard in World.run works: an unquoted value would be noticed."""
    with pytest.raises(AssertionError, match="run as a command"):
        world.run(f"echo {WEIRD}")


# lock


def test_lock(world):
    app = world.app
    first = world.run(lock.acquire(app, WEIRD_OWNER))
    assert first.returncode == 0, first.stderr
    assert Path(app.lock, "owner").read_text() == WEIRD_OWNER + "\n"

    second = world.run(lock.acquire(app, "someone else"))
    assert second.returncode == lock.LOCKED_EXIT == 75
    assert Path(app.lock, "owner").read_text() == WEIRD_OWNER + "\n"

    owner = world.run(lock.owner(app))
    assert (owner.returncode, owner.stdout) == (0, WEIRD_OWNER + "\n")

    not_mine = world.run(lock.release(app, "someone else"))
    assert not_mine.returncode == 0
    assert Path(app.lock, "owner").exists()

    mine = world.run(lock.release(app, WEIRD_OWNER))
    assert mine.returncode == 0
    assert not Path(app.lock).exists()
    assert world.run(lock.owner(app)).stdout == ""
    assert world.run(lock.acquire(app, "someone else")).returncode == 0


def test_lock_refusal_reports_owner_literally(world):
    """The pipeline reads the holder from `locked by: <owner>` on stderr: under dash,
    `echo` would turn the backslashes of this owner into a newline and a tab."""
    assert world.run(lock.acquire(world.app, WEIRD_OWNER)).returncode == 0
    refused = world.run(lock.acquire(world.app, "other"))
    assert refused.returncode == 75
    assert refused.stderr == f"locked by: {WEIRD_OWNER}\n"


def test_lock_refusal_without_owner_file(world):
    Path(world.app.lock).mkdir(parents=True)
    refused = world.run(lock.acquire(world.app, "other"))
    assert (refused.returncode, refused.stderr) == (75, "locked by: unknown\n")


# releases


def test_prepare_creates_the_layout(world):
    app = world.app
    assert world.run(release.prepare(app)).returncode == 0
    for d in (app.releases, app.venvs, app.shared, f"{app.shared}/home", app.logs, app.tmp):
        assert Path(d).is_dir(), d
    assert world.run(release.prepare(app)).returncode == 0  # idempotent


def make_zip(path: Path, files: dict[str, str]) -> Path:
    with zipfile.ZipFile(path, "w") as z:
        for name, text in files.items():
            z.writestr(name, text)
    return path


def test_unpack_backend_then_frontend(world):
    app = world.app
    world.run(release.prepare(app))
    stale = Path(app.release(RID), "frontend", "stale.html")
    stale.parent.mkdir(parents=True)
    stale.write_text("old")
    front = make_zip(Path(app.tmp, "front end.zip"), {"index.html": "<h1>", "assets/a.js": "1"})
    back = make_zip(Path(app.tmp, "back'end.zip"), {"demo/demo.py": "app = 1", "rxconfig.py": ""})

    result = world.run(release.unpack_backend(app, RID, str(back)))
    assert result.returncode == 0, result.stderr
    rel = Path(app.release(RID))
    assert (rel / "backend/demo/demo.py").read_text() == "app = 1"
    assert not stale.exists() and not back.exists()
    (rel / "release.json.part").write_text("{}")
    assert world.run(release.exists(app, RID)).returncode == 1  # not complete yet

    result = world.run(release.unpack_frontend(app, RID, str(front)))
    assert result.returncode == 0, result.stderr
    assert (rel / "frontend/index.html").read_text() == "<h1>"
    assert (rel / "frontend/assets/a.js").read_text() == "1"
    assert not front.exists()
    assert world.run(release.exists(app, RID)).returncode == 0


def test_unpack_fails_on_a_bad_zip(world):
    app = world.app
    world.run(release.prepare(app))
    back = make_zip(Path(app.tmp, "b.zip"), {"x.py": ""})
    assert world.run(release.unpack_backend(app, RID, str(back))).returncode == 0
    Path(app.release(RID), "release.json.part").write_text("{}")
    front = Path(app.tmp, "f.zip")
    front.write_text("not a zip")
    assert world.run(release.unpack_frontend(app, RID, str(front))).returncode != 0
    assert front.exists()
    assert world.run(release.exists(app, RID)).returncode == 1  # never marked complete


def test_exists_and_list_ids(world):
    app = world.app
    assert world.run(release.list_ids(app)).stdout == ""  # no releases dir yet: no error
    assert world.run(release.list_ids(app)).returncode == 0
    Path(app.release(RID)).mkdir(parents=True)
    assert world.run(release.exists(app, RID)).returncode == 1  # no release.json yet
    Path(app.release(RID), "release.json").write_text("{}")
    Path(app.release(RID2)).mkdir()
    assert world.run(release.exists(app, RID)).returncode == 0
    assert world.run(release.list_ids(app)).stdout == f"{RID}\n{RID2}\n"


def test_activate(world):
    app = world.app
    for rid in (RID, RID2):
        Path(app.release(rid), "frontend").mkdir(parents=True)
        Path(app.release(rid), "frontend", "id").write_text(rid)
    current = Path(app.current)

    first = world.run(release.activate(app, RID, "green"))
    assert first.returncode == 0, first.stderr
    assert os.readlink(current) == f"releases/{RID}"
    assert (current / "frontend/id").read_text() == RID
    assert Path(app.live_marker).read_text() == f"green {RID}\n"
    assert world.run(release.read_live(app)).stdout == f"green {RID}\n"

    second = world.run(release.activate(app, RID2, "blue"))
    assert second.returncode == 0, second.stderr
    assert os.readlink(current) == f"releases/{RID2}"
    assert (current / "frontend/id").read_text() == RID2
    assert Path(app.live_marker).read_text() == f"blue {RID2}\n"
    assert not Path(app.dir, ".current.tmp").exists()
    # `mv` without -T would have moved the temp link *into* the old target directory
    assert not Path(app.release(RID), ".current.tmp").exists()

    again = world.run(release.activate(app, RID2, "blue"))
    assert again.returncode == 0
    assert os.readlink(current) == f"releases/{RID2}"


def test_activate_over_a_leftover_temp_link(world):
    app = world.app
    Path(app.release(RID)).mkdir(parents=True)
    Path(app.release(RID2)).mkdir(parents=True)
    os.symlink(f"releases/{RID2}", Path(app.dir, ".current.tmp"))  # a crashed switch
    assert world.run(release.activate(app, RID, "blue")).returncode == 0
    assert os.readlink(app.current) == f"releases/{RID}"


def test_read_live_without_marker(world):
    result = world.run(release.read_live(world.app))
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")


def test_remove_releases(world):
    app = world.app
    for rid in (RID, RID2, "20261123T000000-aaaaaa"):
        Path(app.release(rid), "backend").mkdir(parents=True)
    assert world.run(release.remove(app, [RID, RID2])).returncode == 0
    assert sorted(os.listdir(app.releases)) == ["20261123T000000-aaaaaa"]
    assert world.run(release.remove(app, [])).returncode == 0
    assert os.listdir(app.releases) == ["20261123T000000-aaaaaa"]


def test_remove_venvs_except(world):
    app = world.app
    venvs = Path(app.venvs)
    for name in ("h1", "h2", "h3", "a b", "-rf", "*"):
        (venvs / name / "bin").mkdir(parents=True)
    for name in ("h1.requirements.txt", "h3.requirements.txt"):
        (venvs / name).write_text("reflex\n")

    result = world.run(release.remove_venvs_except(app, ["h1", "a b", "h1"]))
    assert result.returncode == 0, result.stderr
    # a removed venv takes its requirements file with it
    assert sorted(os.listdir(venvs)) == ["a b", "h1", "h1.requirements.txt"]
    assert (venvs / "h1/bin").is_dir()


def test_remove_venvs_except_none_kept(world):
    venvs = Path(world.app.venvs)
    (venvs / "h1").mkdir(parents=True)
    (venvs / "h1.requirements.txt").write_text("")
    assert world.run(release.remove_venvs_except(world.app, [])).returncode == 0
    assert os.listdir(venvs) == []


def test_remove_venvs_except_without_venvs_dir_touches_nothing(world):
    (world.cwd / "precious").mkdir()
    result = world.run(release.remove_venvs_except(world.app, []))
    assert result.returncode == 0
    assert (world.cwd / "precious").is_dir()


def test_tail_log(world):
    app = world.app
    assert world.run(release.tail_log(app, "blue")).stdout == ""
    Path(app.logs).mkdir(parents=True)
    Path(app.program_log("blue")).write_text("".join(f"line {i}\n" for i in range(50)))
    tail = world.run(release.tail_log(app, "blue", lines=3))
    assert (tail.returncode, tail.stdout) == (0, "line 47\nline 48\nline 49\n")


# venv


def venv_world(world: World) -> Path:
    pybin = world.tmp / "pybin"
    pybin.mkdir()
    write_script(pybin / "python3", FAKE_PYTHON3.format(calls=q(world.calls_file)))
    Path(world.app.venvs).mkdir(parents=True)
    Path(venv.requirements_path(world.app, HASH)).write_text("reflex\n")
    return pybin


def test_venv_ensure_when_complete_does_nothing(world):
    pybin = venv_world(world)
    done = Path(world.app.venv(HASH), venv.DONE)
    done.parent.mkdir()
    done.touch()
    (done.parent / "keep-me").write_text("x")

    result = world.run(venv.ensure(world.app, HASH), path=[pybin])
    assert (result.returncode, result.stdout) == (0, "server venv exists\n")
    assert world.calls() == []
    assert (done.parent / "keep-me").exists()
    assert world.run(venv.exists(world.app, HASH)).returncode == 0


def test_venv_ensure_rebuilds_a_half_made_venv(world):
    pybin = venv_world(world)
    half = Path(world.app.venv(HASH))
    half.mkdir()
    (half / "junk").write_text("x")
    assert world.run(venv.exists(world.app, HASH)).returncode == 1

    result = world.run(venv.ensure(world.app, HASH), path=[pybin])
    assert result.returncode == 0, result.stderr
    assert result.stdout == "server venv created\n"
    assert not (half / "junk").exists()
    assert (half / venv.DONE).exists()
    assert world.calls() == [
        f"python3 -m venv {half}",
        "pip install --disable-pip-version-check --no-input --progress-bar off "
        f"-r {venv.requirements_path(world.app, HASH)}",
    ]


def test_venv_ensure_failed_install_leaves_no_marker(world):
    pybin = venv_world(world)
    result = world.run(venv.ensure(world.app, HASH), path=[pybin], PIP_EXIT="3")
    assert result.returncode == 3
    assert "server venv created" not in result.stdout
    assert not Path(world.app.venv(HASH), venv.DONE).exists()


def test_migrate(world):
    app = world.app
    rel = Path(app.release(RID))
    (rel / "backend/alembic").mkdir(parents=True)
    value = 'it\'s $HOME; `touch pwned7` "q"'
    (rel / "env").write_text(render_env_file({"DB_URL": value}, "http://app.example.com"))
    reflex = Path(app.venv(HASH), "bin", "reflex")
    reflex.parent.mkdir(parents=True)
    write_script(
        reflex,
        '#!/bin/sh\nprintf \'%s\\n\' "$(pwd)" "$*" "$DB_URL" "$REFLEX_API_URL"\n',
    )
    result = world.run(venv.migrate(app, RID, HASH))
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        str(rel / "backend"),
        "db migrate",
        value,
        "http://app.example.com",
    ]


def test_migrate_without_alembic(world):
    Path(world.app.release(RID), "backend").mkdir(parents=True)
    result = world.run(venv.migrate(world.app, RID, HASH))
    assert (result.returncode, result.stdout) == (0, "no alembic/ in the app: no migrations\n")


# standby


def test_standby_mark_read_clear(world):
    app = world.app
    Path(app.dir).mkdir(parents=True)
    assert world.run(standby.read(app)).stdout == ""
    assert world.run(standby.mark(app, "blue", RID)).returncode == 0
    assert world.run(standby.read(app)).stdout == f"blue {RID}\n"
    assert world.run(standby.mark(app, "green", RID2)).returncode == 0
    assert world.run(standby.read(app)).stdout == f"green {RID2}\n"
    assert world.run(standby.clear(app)).returncode == 0
    assert not Path(app.standby_marker).exists()
    read = world.run(standby.read(app))
    assert (read.returncode, read.stdout) == (0, "")
    assert world.run(standby.clear(app)).returncode == 0


def wait_for(condition, timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


def test_schedule_stop_is_detached_and_stops_the_standby(world):
    app = world.app
    Path(app.dir).mkdir(parents=True)
    world.run(standby.mark(app, "blue", RID))
    started = time.monotonic()
    result = world.run(standby.schedule_stop(app, "blue", RID, 1))
    assert result.returncode == 0
    assert time.monotonic() - started < 0.9, "the caller waited for the timer"
    assert Path(app.standby_marker).exists()  # not before its time

    assert wait_for(lambda: not Path(app.standby_marker).exists())
    assert wait_for(lambda: not detached_running(world))
    assert not Path(app.lock).exists()
    assert world.calls() == ["supervisorctl -c /x/s.conf stop rxpanel-demo-blue"]


def detached_running(world: World) -> bool:
    """Whether a process started from this world (its argv names the world) still runs."""
    mark = str(world.tmp).encode()
    for proc in Path("/proc").iterdir():
        try:
            if proc.name.isdigit() and mark in (proc / "cmdline").read_bytes():
                return True
        except OSError:
            pass
    return False


def test_schedule_stop_leaves_a_newer_standby_alone(world):
    app = world.app
    Path(app.dir).mkdir(parents=True)
    world.run(standby.mark(app, "blue", RID2))  # a later switch made another standby
    assert world.run(standby.schedule_stop(app, "blue", RID, 0)).returncode == 0
    assert wait_for(lambda: not detached_running(world))
    assert Path(app.standby_marker).read_text() == f"blue {RID2}\n"
    assert world.calls() == []
    assert not Path(app.lock).exists()


# supervisor


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_world(world: World, color: str = "blue") -> tuple[str, Path]:
    app = world.app
    world.run(release.prepare(app))
    conf_tmp = Path(app.tmp, f"{app.program(color)}.conf")
    conf_tmp.write_text("[program:x]\n")
    conf_tmp.chmod(0o600)
    Path(app.program_log(color)).write_text("old output\n")
    return str(conf_tmp), Path(app.program_conf(color))


def test_supervisor_start(world):
    app = world.app
    conf_tmp, conf = start_world(world)
    port = free_port()
    result = world.run(supervisor.start(app, "blue", port, conf_tmp))
    assert result.returncode == 0, result.stderr
    assert result.stdout == "started\n"
    assert conf.read_text() == "[program:x]\n"
    assert stat.S_IMODE(conf.stat().st_mode) == 0o644
    assert not Path(conf_tmp).exists()
    assert Path(app.program_log("blue")).read_text() == ""
    ctl = "supervisorctl -c /x/s.conf"
    # `update` changed nothing (same release, same colour): `start` is needed
    assert world.calls() == [
        f"{ctl} stop rxpanel-demo-blue",
        f"{ctl} update rxpanel-demo-blue",
        f"{ctl} start rxpanel-demo-blue",
    ]


@pytest.mark.parametrize(
    "update_out",
    [
        "rxpanel-demo-blue: added process group",
        "rxpanel-demo-blue: stopped\nrxpanel-demo-blue: updated process group",
    ],
)
def test_supervisor_start_after_update_restarted_it(world, update_out):
    """A new or changed program is started by `update` itself: no second call."""
    conf_tmp, _ = start_world(world)
    result = world.run(
        supervisor.start(world.app, "blue", free_port(), conf_tmp),
        SUP_UPDATE_OUT=update_out.replace("\\n", "\n"),
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == update_out.replace("\\n", "\n") + "\n"
    ctl = "supervisorctl -c /x/s.conf"
    assert world.calls() == [f"{ctl} stop rxpanel-demo-blue", f"{ctl} update rxpanel-demo-blue"]


def test_supervisor_start_hides_already_started(world):
    conf_tmp, _ = start_world(world)
    result = world.run(
        supervisor.start(world.app, "blue", free_port(), conf_tmp),
        SUP_START_OUT="rxpanel-demo-blue: ERROR (already started)",
    )
    assert (result.returncode, result.stdout) == (0, "")


def test_supervisor_start_refuses_a_busy_port(world):
    conf_tmp, conf = start_world(world)
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = world.run(supervisor.start(world.app, "blue", port, conf_tmp))
        free = world.run(supervisor.first_free_port([port, port + 1]))
    assert result.returncode == supervisor.PORT_BUSY
    assert result.stderr == f"port {port} is in use by another process on the server\n"
    assert free.stdout == f"{port + 1}\n"  # the way out: the next port nothing listens on
    assert not conf.exists()
    assert world.calls() == ["supervisorctl -c /x/s.conf stop rxpanel-demo-blue"]


def test_supervisor_stop_status_remove(world):
    app = world.app
    for color in ("blue", "green"):
        Path(app.program_conf(color)).write_text("x")
    assert world.run(supervisor.stop(app, "green")).returncode == 0
    status = world.run(supervisor.status(app, "blue"), SUP_STATUS="rxpanel-demo-blue RUNNING")
    assert status.stdout == "rxpanel-demo-blue RUNNING\n"
    assert world.run(supervisor.remove(app)).returncode == 0
    assert not Path(app.program_conf("blue")).exists()
    assert not Path(app.program_conf("green")).exists()
    ctl = "supervisorctl -c /x/s.conf"
    assert world.calls() == [
        f"{ctl} stop rxpanel-demo-green",
        f"{ctl} status rxpanel-demo-blue",
        f"{ctl} stop rxpanel-demo-blue",
        f"{ctl} stop rxpanel-demo-green",
        f"{ctl} update",
    ]


# nginx


def site_world(world: World, old: str | None) -> tuple[Path, Path]:
    app = world.app
    world.run(release.prepare(app))
    site = Path(app.site_conf)
    if old is not None:
        site.write_text(old)
        site.chmod(0o644)
    return Path(app.tmp, "site.conf"), site


NGX = "nginx -c /x/nginx.conf"


def test_install_site_first_time(world):
    tmp, site = site_world(world, old=None)
    tmp.write_text("server { }\n")
    result = world.run(nginx.install_site(world.app, str(tmp)))
    assert result.returncode == 0, result.stderr
    assert site.read_text() == "server { }\n"
    assert stat.S_IMODE(site.stat().st_mode) == 0o644
    assert not tmp.exists()
    assert not Path(world.app.tmp, "nginx-t.log").exists()
    assert world.calls() == [f"{NGX} -t", f"{NGX} -s reload"]


def test_install_site_replaces_a_good_site(world):
    tmp, site = site_world(world, old="old\n")
    tmp.write_text("new\n")
    result = world.run(nginx.install_site(world.app, str(tmp)))
    assert result.returncode == 0, result.stderr
    assert site.read_text() == "new\n"
    assert world.calls() == [f"{NGX} -t", f"{NGX} -s reload"]


def test_install_site_keeps_the_old_site_when_the_test_fails(world):
    tmp, site = site_world(world, old="old\n")
    tmp.write_text("BROKEN;\n")
    result = world.run(nginx.install_site(world.app, str(tmp)))
    assert result.returncode == 1
    assert site.read_text() == "old\n"
    assert stat.S_IMODE(site.stat().st_mode) == 0o644
    assert result.stderr == (
        'nginx: [emerg] unknown directive "BROKEN"\n'
        "nginx -t failed: the previous site config was kept\n"
    )
    assert world.calls() == [f"{NGX} -t"]  # no reload
    assert not tmp.exists()
    assert not Path(world.app.tmp, "nginx-t.log").exists()


def test_install_site_removes_a_broken_first_site(world):
    tmp, site = site_world(world, old=None)
    tmp.write_text("BROKEN;\n")
    result = world.run(nginx.install_site(world.app, str(tmp)))
    assert result.returncode == 1
    assert not site.exists()
    assert world.calls() == [f"{NGX} -t"]


def test_install_site_after_a_failed_one_does_not_restore_a_stale_copy(world):
    tmp, site = site_world(world, old=None)
    Path(world.app.dir, "site.prev").write_text("stale copy from an earlier switch\n")
    tmp.write_text("BROKEN;\n")
    assert world.run(nginx.install_site(world.app, str(tmp))).returncode == 1
    assert not site.exists()


def test_install_site_reports_a_failed_reload(world):
    tmp, _ = site_world(world, old="old\n")
    tmp.write_text("new\n")
    result = world.run(nginx.install_site(world.app, str(tmp)), RELOAD_EXIT="1")
    assert result.returncode == 1


def test_remove_site(world):
    _, site = site_world(world, old="old\n")
    assert world.run(nginx.remove_site(world.app)).returncode == 0
    assert not site.exists()
    assert world.calls() == [f"{NGX} -s reload"]


# check


def test_check_items_run(world):
    host = world.app.host
    results = {label: world.run(cmd, SUP_PID="4242") for label, cmd in check.items(host)}
    assert {label: r.returncode for label, r in results.items()} == {
        label: 0 for label, _ in check.items(host)
    }
    assert results["SSH login"].stdout.startswith("logged in as ")
    assert results["python3 >= 3.10 with venv"].stdout.startswith("python 3.")
    assert results["supervisorctl reachable"].stdout == "supervisord pid 4242\n"
    assert Path(host.deploy_root).is_dir()  # made by the check


def test_check_supervisorctl_unreachable(world):
    cmd = dict(check.items(world.app.host))["supervisorctl reachable"]
    result = world.run(cmd, SUP_PID="unix:///x/supervisor.sock no such file")
    assert result.returncode == 1


# health gate


class PingHandler(BaseHTTPRequestHandler):
    answers: dict[str, tuple[int, bytes]] = {}

    def do_GET(self):  # noqa: N802 - http.server's name
        code, body = self.answers.get(self.path, (404, b"not found"))
        self.send_response(code)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def backend():
    """A stand-in for the new colour's backend; set .answers to {path: (code, body)}."""
    handler = type("Handler", (PingHandler,), {"answers": {}})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield server.server_address[1], handler
    server.shutdown()
    server.server_close()


def test_gate_healthy(world, backend):
    port, handler = backend
    handler.answers = {"/ping": (200, b'"pong"\n')}
    result = world.run(health.gate(world.app, "green", port, "/ping", 5))
    assert (result.returncode, result.stdout) == (0, 'healthy: /ping answered "pong"\n')


def test_gate_other_path_accepts_any_200(world, backend):
    port, handler = backend
    handler.answers = {"/_health": (200, b'{"status": true}')}
    result = world.run(health.gate(world.app, "green", port, "/_health", 5))
    assert (result.returncode, result.stdout) == (
        0,
        'healthy: /_health answered {"status": true}\n',
    )


@pytest.mark.parametrize(
    ("answer", "why"),
    [
        ((200, b"hello"), "answered 'hello' instead of \"pong\""),
        ((503, b"starting"), "answered HTTP 503"),
    ],
)
def test_gate_unhealthy(world, backend, answer, why):
    port, handler = backend
    handler.answers = {"/ping": answer}
    result = world.run(health.gate(world.app, "green", port, "/ping", 0.3))
    assert result.returncode == 1
    assert result.stdout == f"not healthy after 0.3s: /ping {why}\n"


def test_gate_notices_a_crashed_program(world):
    started = time.monotonic()
    result = world.run(
        health.gate(world.app, "green", free_port(), "/ping", 10),
        SUP_STATUS="rxpanel-demo-green  FATAL  Exited too quickly",
    )
    assert result.returncode == 1
    assert result.stdout == "the app process crashed at start: rxpanel-demo-green FATAL\n"
    assert time.monotonic() - started < 5
    assert world.calls() == ["supervisorctl -c /x/s.conf status rxpanel-demo-green"]


def test_tools_used_by_the_behaviour_tests_exist():
    for tool in (*SHELLS, "setsid", "nohup", "python3"):
        assert shutil.which(tool, path="/usr/sbin:/usr/bin:/sbin:/bin"), tool
