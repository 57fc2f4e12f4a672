"""services/state_store.py and the app's state store setting (issue 14): a password
made on first need and stored encrypted, the plan's settings, the CLI flag."""

from __future__ import annotations

import pytest

from rxpanel import sshkeys, validate
from rxpanel.services import apps, servers, state_store
from rxpanel.worker import plans


@pytest.fixture
def shop(home):
    servers.add(servers.ServerInput(name="s1", host="127.0.0.1"), sshkeys.new_deploy_key())
    return apps.add(
        apps.AppInput(
            name="shop", server="s1", source="git@git.example:o/shop.git", url="http://a.x"
        )
    )


def test_a_new_app_has_a_server_store_with_a_password_kept_encrypted(home, shop):
    assert shop.state_store == "server"
    settings = plans.settings_of(apps.get("shop"))
    assert settings.state_store == "server" and settings.managed_store
    password = settings.state_password
    assert password.isalnum() and len(password) >= 32
    assert password.encode() not in (home / "rxpanel.db").read_bytes()
    assert state_store.password(apps.get("shop")) == password  # kept, not made again
    assert password not in repr(settings)


def test_the_store_can_be_turned_off(home, shop):
    current = apps.public(apps.get("shop"))
    data = apps.AppInput(
        **{k: current[k] for k in ("name", "server", "source", "url")}, state_store="off"
    )
    apps.update("shop", data)
    settings = plans.settings_of(apps.get("shop"))
    assert settings.state_store == "off" and not settings.managed_store
    assert settings.state_password == ""
    with pytest.raises(validate.ValidationError, match="must be one of: server, off"):
        apps.AppInput(
            name="shop", server="s1", source="x", url="http://a.x", state_store="disk"
        ).cleaned()


def test_the_cli_flag(home, shop):
    from rxpanel.cli import build_parser

    a = build_parser().parse_args(["app", "update", "shop", "--state-store", "off"])
    assert a.state_store == "off"
    assert a.func(a) == 0
    assert apps.get("shop").state_store == "off"


def test_what_an_old_tab_does_is_the_apps_choice_and_reaches_its_site(home, shop):
    from rxpanel.cli import build_parser
    from rxpanel.deploy.templates import live
    from rxpanel.deploy.templates.nginx import live_tag_lines

    assert plans.settings_of(apps.get("shop")).on_new_release == "reload"  # the default
    a = build_parser().parse_args(["app", "update", "shop", "--on-new-release", "notice"])
    assert a.func(a) == 0
    settings = plans.settings_of(apps.get("shop"))
    assert settings.on_new_release == "notice" and apps.public(apps.get("shop"))[
        "on_new_release"
    ] == "notice"
    assert live.tag("r1", settings.on_new_release) in live_tag_lines("r1", "notice")
    assert 'data-mode="notice"' in live.tag("r1", "notice")
    with pytest.raises(validate.ValidationError, match="must be one of: reload, notice"):
        apps.AppInput(
            name="shop", server="s1", source="x", url="http://a.x", on_new_release="popup"
        ).cleaned()


def test_the_worker_count_is_an_app_setting(home, shop):
    from rxpanel.cli import build_parser

    assert plans.settings_of(apps.get("shop")).workers == 1  # as before the shared store
    a = build_parser().parse_args(["app", "update", "shop", "--workers", "4"])
    assert a.func(a) == 0
    assert plans.settings_of(apps.get("shop")).workers == 4
    with pytest.raises(validate.ValidationError, match="workers"):
        apps.AppInput(name="shop", server="s1", source="x", url="http://a.x", workers=0).cleaned()
