"""deploy/commands/standby.py: the warm standby's marker (exact strings, syntax, behaviour).

The stop itself is the panel scheduler's job (commands.composite.stop_standby, tested with
the composites)."""

from __future__ import annotations

from pathlib import Path

import pytest

from rxpanel.deploy.commands import standby

from ._support import (
    APP,
    RID,
    RID2,
    SHELLS,
    assert_syntax,
    syntax_cases,
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
