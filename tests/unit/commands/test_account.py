"""deploy/commands/account.py: the app's own Unix user on a server (exact strings,
syntax); with a login that has neither root nor sudo, nothing changes."""

from __future__ import annotations

import shlex

import pytest

from rxpanel.deploy.commands import AppLayout, Host, account
from rxpanel.deploy.commands.base import app_user_name

from ._support import APP, RID, SHELLS, SUDO_APP, as_demo, assert_syntax, syntax_cases

LOGIN_APP = AppLayout(Host(user="deploy"), "demo")


def test_the_user_name_fits_unix_limits_and_keeps_long_names_apart():
    assert app_user_name("demo") == "rxa-demo"
    long_a, long_b = "a" * 39 + "x", "a" * 39 + "y"
    assert len(app_user_name(long_a)) == 32
    assert app_user_name(long_a) != app_user_name(long_b)
    assert app_user_name(long_a).startswith("rxa-" + "a" * 21)


def test_who_the_app_runs_as():
    assert APP.unix_user == "rxa-demo"  # root login
    assert SUDO_APP.unix_user == "rxa-demo"
    assert LOGIN_APP.unix_user == "deploy"  # no root, no sudo: the login itself
    assert (APP.host.isolated, SUDO_APP.host.isolated, LOGIN_APP.host.isolated) == (
        True,
        True,
        False,
    )


def test_without_root_or_sudo_nothing_changes():
    for cmd in (
        account.ensure_user(LOGIN_APP),
        account.own_release(LOGIN_APP, RID),
        account.own_frontend(LOGIN_APP, RID),
        account.remove_user(LOGIN_APP),
    ):
        assert cmd == "true"
    assert account.as_app(LOGIN_APP, "id -un") == "id -un"
    assert account.hand_over(LOGIN_APP, "/a", "/b") == "mv -f /a /b"


def test_as_app_exact_strings():
    assert account.as_app(APP, "id -un") == as_demo("id -un")
    assert account.as_app(SUDO_APP, "id -un") == (
        "sudo -n -u rxa-demo env HOME=/srv/rxpanel/demo/shared/home sh -c 'id -un'"
    )


def test_hand_over_exact_strings():
    assert account.hand_over(APP, "/s/t/r.txt", "/s/v/r.txt") == (
        "install -m 0600 -o rxa-demo -g rxa-demo /s/t/r.txt /s/v/r.txt && rm -f /s/t/r.txt"
    )
    assert account.hand_over(SUDO_APP, "/s/t/r.txt", "/s/v/r.txt").startswith("sudo -n sh -c ")


def test_ensure_user_makes_a_marked_system_user_and_refuses_a_strangers():
    cmd = account.ensure_user(APP)
    assert (
        "useradd --system --user-group --no-create-home --home-dir /srv/rxpanel/demo/shared/home "
        "--shell /usr/sbin/nologin --comment 'rxpanel app demo' rxa-demo"
    ) in cmd
    assert "case \"$ent\" in *:'rxpanel app demo':*) ;;" in cmd
    assert "rxpanel did not make: remove it or rename the app" in cmd
    # its own dirs, the login's dirs closed to apps, and a check it reaches them
    assert "chmod 0751 /srv/rxpanel/demo /srv/rxpanel/demo/releases && " in cmd
    assert (
        "chmod 0700 /srv/rxpanel/demo/tmp /srv/rxpanel/demo/logs "
        "/srv/rxpanel/demo/shared /srv/rxpanel/demo/venvs"
    ) in cmd
    assert (
        "find /srv/rxpanel/demo/shared /srv/rxpanel/demo/venvs ! -user rxa-demo "
        "-exec chown -h rxa-demo:rxa-demo {} +"
    ) in cmd
    assert "root=/srv/rxpanel/demo\n" in cmd and "the app runs as $name" in cmd
    sudo = account.ensure_user(SUDO_APP)
    assert sudo.startswith("sudo -n sh -c ") and "useradd" in shlex.split(sudo)[-1]


def test_own_release_gives_backend_and_env_to_the_app_and_frontend_to_nginx():
    cmd = account.own_release(APP, RID)
    rel = f"/srv/rxpanel/demo/releases/{RID}"
    assert f"rel={rel}\n" in cmd
    assert (
        'chmod 0751 "$rel" && chown -R rxa-demo:rxa-demo "$rel/backend" "$rel/env" '
        '"$rel/run.sh" && chmod 0700 "$rel/backend" "$rel/run.sh" && chmod 0600 "$rel/env"'
    ) in cmd
    assert 'group=$(id -gn "$uid") && chown -R root:"$group" "$rel/frontend"' in cmd
    assert 'chmod 0750 "$rel/frontend"' in cmd
    assert "nginx -T" in cmd  # who nginx runs as, asked on the server


def commands(app) -> dict[str, str]:
    return {
        "account.ensure_user": account.ensure_user(app),
        "account.own_release": account.own_release(app, RID),
        "account.own_frontend": account.own_frontend(app, RID),
        "account.as_app": account.as_app(app, "echo 'x y'"),
        "account.remove_user": account.remove_user(app),
    }


@pytest.mark.parametrize("shell", SHELLS)
@pytest.mark.parametrize(("name", "cmd"), syntax_cases(commands))
def test_syntax(shell, name, cmd):
    assert_syntax(shell, name, cmd)
