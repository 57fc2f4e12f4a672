"""deploy/commands/supervisor.py: programs under supervisord, the busy-port guard
(exact strings, syntax, behaviour)."""

from __future__ import annotations

import shlex
import socket
import stat
from pathlib import Path

import pytest

from rxpanel.deploy.commands import release, supervisor

from ._support import (
    APP,
    SANDBOX_APP,
    SHELLS,
    SUDO_APP,
    World,
    as_demo,
    assert_syntax,
    free_port,
    simple_commands,
    syntax_cases,
)


def sweep_script(prog: str) -> str:
    return (
        "n=0; for i in 1 2 3 4 5; do pids=$(grep -lzxsF "
        f"RXPANEL_PROGRAM={prog} /proc/[0-9]*/environ | cut -d/ -f3); "
        '[ -n "$pids" ] || break; kill -KILL $pids 2>/dev/null; '
        "n=$((n + $(echo $pids | wc -w))); sleep 0.1; done; "
        f'[ "$n" = 0 ] || echo "killed $n process(es) of {prog} left after the stop"'
    )


def stop_root(prog: str, ctl: str = "supervisorctl") -> str:
    """The stop of a colour as the root login sends it: supervisord's, then the sweep."""
    return f"{{ {ctl} stop {prog} || true; }}; {{ {as_demo(sweep_script(prog))}; }} || true"


EXACT = [
    pytest.param(
        supervisor.start(APP, "blue", 8001, "/srv/rxpanel/demo/tmp/rxpanel-demo-blue.conf"),
        f"{{ {stop_root('rxpanel-demo-blue')}; }} >/dev/null 2>&1 && "
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
        "{ { /usr/bin/supervisorctl -c /x/s.conf stop rxpanel-demo-green || true; }; "
        f"{{ {sweep_script('rxpanel-demo-green')}; }} || true; }} >/dev/null 2>&1 && "
        '{ ! { cat /proc/net/tcp /proc/net/tcp6 2>/dev/null | awk \'$4 == "0A" && '
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
        supervisor.stop(APP, "blue"),
        "{ supervisorctl stop rxpanel-demo-blue || true; }; "
        "{ runuser -u rxa-demo -- env HOME=/srv/rxpanel/demo/shared/home sh -c "
        "'n=0; for i in 1 2 3 4 5; do pids=$(grep -lzxsF RXPANEL_PROGRAM=rxpanel-demo-blue "
        '/proc/[0-9]*/environ | cut -d/ -f3); [ -n "$pids" ] || break; '
        "kill -KILL $pids 2>/dev/null; n=$((n + $(echo $pids | wc -w))); sleep 0.1; done; "
        '[ "$n" = 0 ] || echo "killed $n process(es) of rxpanel-demo-blue left after the stop"\''
        "; } || true",
        id="stop",
    ),
    pytest.param(
        supervisor.stop(SUDO_APP, "blue"),
        "{ sudo -n supervisorctl stop rxpanel-demo-blue || true; }; "
        "{ sudo -n -u rxa-demo env HOME=/srv/rxpanel/demo/shared/home sh -c "
        f"{shlex.quote(sweep_script('rxpanel-demo-blue'))}; }} || true",
        id="supervisor.stop-sudo",
    ),
    pytest.param(
        supervisor.status(SANDBOX_APP, "green"),
        "/usr/bin/supervisorctl -c /x/s.conf status rxpanel-demo-green || true",
        id="supervisor.status-sandbox",
    ),
    pytest.param(
        supervisor.remove(APP),
        f"{{ {{ {stop_root('rxpanel-demo-blue')}; }} >/dev/null 2>&1; "
        "rm -f /etc/supervisor/conf.d/rxpanel-demo-blue.conf; "
        f"{{ {stop_root('rxpanel-demo-green')}; }} >/dev/null 2>&1; "
        "rm -f /etc/supervisor/conf.d/rxpanel-demo-green.conf; "
        "supervisorctl update >/dev/null 2>&1 || true; }",
        id="supervisor.remove",
    ),
    pytest.param(
        supervisor.remove(SUDO_APP),
        f"{{ {{ {supervisor.stop(SUDO_APP, 'blue')}; }} >/dev/null 2>&1; "
        "sudo -n rm -f /etc/supervisor/conf.d/rxpanel-demo-blue.conf; "
        f"{{ {supervisor.stop(SUDO_APP, 'green')}; }} >/dev/null 2>&1; "
        "sudo -n rm -f /etc/supervisor/conf.d/rxpanel-demo-green.conf; "
        "sudo -n supervisorctl update >/dev/null 2>&1 || true; }",
        id="supervisor.remove-sudo",
    ),
]


@pytest.mark.parametrize(("cmd", "expected"), EXACT)
def test_exact_string(cmd, expected):
    assert cmd == expected


def test_supervisor_start_sudo():
    """Privileged steps use sudo; the truncation of the program log too: supervisord
    (root) creates that log, so the SSH user cannot write it on the second start."""
    log = "/srv/rxpanel/demo/logs/blue.log"
    cmd = supervisor.start(SUDO_APP, "blue", 8001, "/srv/rxpanel/demo/tmp/rxpanel-demo-blue.conf")
    assert cmd == " && ".join(
        [
            f"{{ {supervisor.stop(SUDO_APP, 'blue')}; }} >/dev/null 2>&1",
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


def commands(app) -> dict[str, str]:
    return {
        "supervisor.start": supervisor.start(app, "blue", 8001, f"{app.tmp}/p.conf"),
        "supervisor.stop": supervisor.stop(app, "blue"),
        "supervisor.status": supervisor.status(app, "green"),
        "supervisor.remove": supervisor.remove(app),
    }


@pytest.mark.parametrize("shell", SHELLS)
@pytest.mark.parametrize(("name", "cmd"), syntax_cases(commands))
def test_syntax(shell, name, cmd):
    assert_syntax(shell, name, cmd)


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


IGNORE_TERM = "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(60)"


def test_sweep_kills_what_carries_the_colour_tag_only(tmp_path):
    """What outlived supervisord's stop (ignored TERM, left the group) is killed by its
    tag; the other colour's processes and untagged ones are left alone."""
    import os
    import subprocess
    import sys

    def spawn(program: str | None) -> subprocess.Popen:
        env = {k: v for k, v in os.environ.items() if k != supervisor.TAG}
        if program:
            env[supervisor.TAG] = program
        return subprocess.Popen(
            [sys.executable, "-c", IGNORE_TERM], env=env, start_new_session=True
        )

    escaped = [spawn("rxpanel-demo-blue"), spawn("rxpanel-demo-blue")]
    others = [spawn("rxpanel-demo-green"), spawn("rxpanel-demo-blue-2"), spawn(None)]
    try:
        # SANDBOX_APP's login is not root: the sweep runs as the login itself
        result = subprocess.run(
            ["sh", "-c", supervisor.sweep(SANDBOX_APP, "blue")],
            capture_output=True,
            text=True,
            timeout=10,
        )
        assert result.returncode == 0, result.stderr
        assert result.stdout == "killed 2 process(es) of rxpanel-demo-blue left after the stop\n"
        for p in escaped:
            assert p.wait(timeout=5) == -9
        assert all(p.poll() is None for p in others)
        again = subprocess.run(
            ["sh", "-c", supervisor.sweep(SANDBOX_APP, "blue")], capture_output=True, text=True
        )
        assert (again.returncode, again.stdout) == (0, "")
    finally:
        for p in escaped + others:
            p.kill()
            p.wait()
