"""Each app's deploy key: made with the app (or on first need), stored encrypted,
its public half shown by the CLI, the API and the app page, never its private one."""

from __future__ import annotations

import argparse

import pytest
from sqlmodel import select

from rxpanel import actions, db, present, sshkeys
from rxpanel.actions import Actor
from rxpanel.models import App
from rxpanel.services import Forbidden, app_records, apps, deploy_keys, servers, users
from rxpanel.worker import plans


@pytest.fixture
def shop(home):
    servers.add(servers.ServerInput(name="s1", host="127.0.0.1"), sshkeys.new_deploy_key())
    return apps.add(
        apps.AppInput(
            name="shop", server="s1", source="git@git.example:o/shop.git", url="http://a.x"
        )
    )


def body(private: str) -> list[str]:
    return [ln for ln in private.splitlines() if not ln.startswith("-----")]


def test_a_new_app_has_an_ed25519_key_stored_encrypted(home, shop):
    private = deploy_keys.private(shop)
    assert sshkeys.load_private_key(private).get_name() == "ssh-ed25519"
    raw = (home / "rxpanel.db").read_bytes()
    assert not any(line.encode() in raw for line in body(private))
    line = deploy_keys.public(shop)
    assert line.startswith("ssh-ed25519 AAAA") and line.endswith(" rxpanel-shop")


def test_an_app_made_before_keys_gets_one_on_first_need_and_keeps_it(home, shop):
    with db.session() as s:
        row = s.exec(select(App).where(App.name == "shop")).one()
        row.deploy_key_enc = None
        s.add(row)
    old = apps.get("shop")
    first = plans.settings_of(old).deploy_key  # the worker's plan needs one
    assert first and apps.get("shop").deploy_key_enc
    assert deploy_keys.private(apps.get("shop")) == first  # kept, not made again


def test_the_cli_shows_and_rotates_the_public_half(home, shop, capsys):
    from rxpanel.cli import apps as command

    before = deploy_keys.public(shop)
    assert command.deploy_key(argparse.Namespace(name="shop", new=False, json=False)) == 0
    out, err = capsys.readouterr()
    assert out == before + "\n" and "read-only deploy key on your git host" in err
    command.deploy_key(argparse.Namespace(name="shop", new=True, json=True))
    rotated = capsys.readouterr().out
    assert before not in rotated and "PRIVATE" not in rotated
    assert deploy_keys.public(apps.get("shop")) in rotated


def test_rotating_needs_a_deployer(home, shop):
    vic = users.create("vic", "password-vic", "viewer")
    viewer = Actor.user(vic.username, "viewer")
    assert actions.deploy_key("shop", viewer).startswith("ssh-ed25519 ")
    with pytest.raises(Forbidden):
        actions.deploy_key("shop", viewer, new=True)


def test_the_api_and_the_page_carry_the_public_half_only(home, shop):
    from starlette.testclient import TestClient

    from rxpanel.api import api as asgi
    from rxpanel.services import tokens

    private = deploy_keys.private(shop)
    vic = users.create("vic", "password-vic", "viewer")
    api = TestClient(asgi)
    api.headers["Authorization"] = f"Bearer {tokens.issue(vic, 'ci', 'read')[1]}"
    answer = api.get("/api/v1/apps/shop")
    assert answer.json()["deploy_key"] == deploy_keys.public(shop)
    listed = api.get("/api/v1/apps").text
    page = present.app_detail(app_records.detail("shop"))
    assert page["deploy_key"] == deploy_keys.public(shop)
    for shown in (answer.text, listed, repr(page), repr(apps.public(shop))):
        assert "PRIVATE" not in shown and not any(line in shown for line in body(private))
