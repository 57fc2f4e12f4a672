"""deploy/commands/lock.py: the server-side deploy lock (exact strings, syntax, behaviour)."""

from __future__ import annotations

from pathlib import Path

import pytest

from rxpanel.deploy.commands import lock

from ._support import APP, OWNER, SHELLS, SPACED_APP, WEIRD_OWNER, assert_syntax, syntax_cases


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
]


@pytest.mark.parametrize(("cmd", "expected"), EXACT)
def test_exact_string(cmd, expected):
    assert cmd == expected


def commands(app) -> dict[str, str]:
    return {
        "lock.acquire": lock.acquire(app, WEIRD_OWNER),
        "lock.release": lock.release(app, WEIRD_OWNER),
        "lock.owner": lock.owner(app),
    }


@pytest.mark.parametrize("shell", SHELLS)
@pytest.mark.parametrize(("name", "cmd"), syntax_cases(commands))
def test_syntax(shell, name, cmd):
    assert_syntax(shell, name, cmd)


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
