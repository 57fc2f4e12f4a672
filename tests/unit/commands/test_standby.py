"""deploy/commands/standby.py: the warm standby's marker (exact strings, syntax, behaviour).

Everything about `standby.schedule_stop` (the detached timer left on the server) is in the
last section of this file, so it can go in one piece when the panel's scheduler stops the
standby instead."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from rxpanel.deploy.commands import standby

from ._support import (
    APP,
    RID,
    RID2,
    SANDBOX_APP,
    SHELLS,
    World,
    assert_syntax,
    inner_scripts,
    syntax_cases,
    wait_for,
)

EXACT = [
    pytest.param(
        standby.mark(APP, "blue", RID),
        f"printf '%s %s\\n' blue {RID} > /srv/rxpanel/demo/standby",
        id="standby.mark",
    ),
    pytest.param(standby.clear(APP), "rm -f /srv/rxpanel/demo/standby", id="standby.clear"),
    pytest.param(
        standby.read(APP), "cat /srv/rxpanel/demo/standby 2>/dev/null || true", id="standby.read"
    ),
]


@pytest.mark.parametrize(("cmd", "expected"), EXACT)
def test_exact_string(cmd, expected):
    assert cmd == expected


def commands(app) -> dict[str, str]:
    return {
        "standby.mark": standby.mark(app, "blue", RID),
        "standby.clear": standby.clear(app),
        "standby.read": standby.read(app),
    }


@pytest.mark.parametrize("shell", SHELLS)
@pytest.mark.parametrize(("name", "cmd"), syntax_cases(commands))
def test_syntax(shell, name, cmd):
    assert_syntax(shell, name, cmd)


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


# -- schedule_stop: the detached timer (all of its tests, together) --------------------

SCHEDULE_STOP_EXACT = [
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
]


@pytest.mark.parametrize(("cmd", "expected"), SCHEDULE_STOP_EXACT)
def test_schedule_stop_exact_string(cmd, expected):
    assert cmd == expected


def schedule_stop_commands(app) -> dict[str, str]:
    return {"standby.schedule_stop": standby.schedule_stop(app, "blue", RID, 900)}


@pytest.mark.parametrize("shell", SHELLS)
@pytest.mark.parametrize(("name", "cmd"), syntax_cases(schedule_stop_commands))
def test_schedule_stop_syntax(shell, name, cmd):
    assert_syntax(shell, name, cmd)


def test_inner_scripts_are_found():
    assert inner_scripts(standby.schedule_stop(APP, "blue", RID, 1)) == [
        "sleep 1; n=0; while [ $n -lt 720 ]; do if mkdir /srv/rxpanel/demo/.lock 2>/dev/null; "
        "then echo standby-stop > /srv/rxpanel/demo/.lock/owner; "
        f"if [ \"$(cat /srv/rxpanel/demo/standby 2>/dev/null)\" = 'blue {RID}' ]; then "
        "supervisorctl stop rxpanel-demo-blue; rm -f /srv/rxpanel/demo/standby; fi; "
        "rm -rf /srv/rxpanel/demo/.lock; exit 0; fi; n=$((n+1)); sleep 5; done"
    ]


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
