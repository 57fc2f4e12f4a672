"""deploy/commands/base.py: the layout of an app on a server, quoting, the tool lines of a
host; and what holds for every builder (no sudo under the deploy root) and for the test
helpers themselves (the simple-commands reader, the World's injection guard)."""

from __future__ import annotations

import shutil

import pytest

from rxpanel.deploy.commands import lock, other_color, q, release, sh, standby, venv

from ._support import (
    APP,
    HASH,
    OWNER,
    PLAIN,
    RID,
    SANDBOX,
    SANDBOX_APP,
    SHELLS,
    SUDO,
    SUDO_APP,
    WEIRD,
    simple_commands,
)


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


def test_the_logins_own_deploy_root_commands_never_use_sudo():
    """What stays the login's (locks, markers, tmp/, unpacking) runs as the SSH user."""
    for build in (
        lambda a: lock.acquire(a, OWNER),
        lambda a: lock.release(a, OWNER),
        lambda a: release.unpack_backend(a, RID, "/t/b.zip"),
        lambda a: release.unpack_frontend(a, RID, "/t/f.zip"),
        lambda a: release.activate(a, RID, "blue"),
        lambda a: standby.mark(a, "blue", RID),
        lambda a: standby.clear(a),
    ):
        assert build(SUDO_APP) == build(APP)
        assert "sudo" not in build(SUDO_APP)
    assert "sudo" not in release.prepare(SUDO_APP)


def test_what_the_app_user_owns_goes_through_it_or_root():
    """Files of the app's user: made and read as it (sudo -u / runuser), deleted as root."""
    assert release.remove(SUDO_APP, [RID]) == (
        f"sudo -n sh -c 'rm -rf /srv/rxpanel/demo/releases/{RID}'"
    )
    assert release.remove(APP, [RID]) == f"rm -rf /srv/rxpanel/demo/releases/{RID}"
    assert release.remove_venvs_except(SUDO_APP, [HASH]).startswith(
        "sudo -n -u rxa-demo env HOME=/srv/rxpanel/demo/shared/home sh -c "
    )
    assert release.remove_venvs_except(APP, [HASH]).startswith(
        "runuser -u rxa-demo -- env HOME=/srv/rxpanel/demo/shared/home sh -c "
    )
    assert venv.migrate(SUDO_APP, RID, HASH).startswith("sudo -n -u rxa-demo ")
    assert venv.ensure(SUDO_APP, HASH).startswith(
        "sudo -n sh -c 'install -m 0600 -o rxa-demo -g rxa-demo "
        f"/srv/rxpanel/demo/tmp/{HASH}.requirements.txt "
        f"/srv/rxpanel/demo/venvs/{HASH}.requirements.txt && rm -f "
    )


def test_world_catches_injection(world):
    """The guard in World.run works: an unquoted value would be noticed."""
    with pytest.raises(AssertionError, match="run as a command"):
        world.run(f"echo {WEIRD}")


def test_tools_used_by_the_behaviour_tests_exist():
    for tool in (*SHELLS, "python3"):
        assert shutil.which(tool, path="/usr/sbin:/usr/bin:/sbin:/bin"), tool
