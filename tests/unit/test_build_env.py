"""Build-time and runtime env variables at the edges: the CLI marks them (with
clear errors), the API/--json shows which are build-time, the plan carries the
marks and gives the export only the build-time ones."""

from __future__ import annotations

import json
import subprocess

import pytest

from rxpanel import envkinds
from rxpanel.services import apps, servers
from rxpanel.validate import ValidationError
from rxpanel.worker import plans


@pytest.fixture
def shop(home, tmp_path):
    key = tmp_path / "key"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    servers.add(servers.ServerInput(name="s1", host="127.0.0.1"), key.read_text())
    return apps.add(
        apps.AppInput(name="shop", server="s1", source="https://git.example/shop.git", url="http://127.0.0.1:9000")
    )


def test_the_cli_sets_marks_and_unmarks_build_time_keys(shop, capsys):
    from rxpanel import cli

    assert cli.main(["app", "env", "shop", "GREETING=hi", "REFLEX_LOGLEVEL=info"]) == 0
    assert capsys.readouterr().out.strip() == "env keys: GREETING, REFLEX_LOGLEVEL (build)"
    assert cli.main(["app", "env", "shop", "THEME=dark", "--build"]) == 0
    assert capsys.readouterr().out.strip() == (
        "env keys: GREETING, REFLEX_LOGLEVEL (build), THEME (build)"
    )
    assert apps.get("shop").build_env_keys == "THEME"
    assert cli.main(["app", "env", "shop", "--mark-build", "GREETING"]) == 0
    assert cli.main(["app", "env", "shop", "--mark-runtime", "THEME"]) == 0
    assert apps.get("shop").build_env_keys == "GREETING"
    capsys.readouterr()
    listed = apps.public(apps.get("shop"))
    assert listed["build_env_keys"] == ["GREETING", "REFLEX_LOGLEVEL"]
    assert cli.main(["app", "list", "--json"]) == 0
    [row] = json.loads(capsys.readouterr().out)
    assert row["build_env_keys"] == ["GREETING", "REFLEX_LOGLEVEL"]
    assert cli.main(["app", "env", "shop", "--unset", "GREETING"]) == 0
    assert apps.get("shop").build_env_keys == ""  # a removed key loses its mark


@pytest.mark.parametrize(
    ("changes", "error"),
    [
        ({"build": ["NOPE"]}, "env key NOPE is not set: set it first"),
        ({"runtime": ["REFLEX_LOGLEVEL"]}, "REFLEX_LOGLEVEL is always build-time"),
        ({"build": ["GREETING"], "runtime": ["GREETING"]}, "both build-time and runtime"),
        ({"build": ["bad key"]}, "env"),
    ],
)
def test_marks_are_validated(shop, changes, error):
    apps.set_env("shop", {"GREETING": "hi", "REFLEX_LOGLEVEL": "info"})
    with pytest.raises(ValidationError, match=error):
        apps.set_env("shop", {}, **changes)


def test_the_plan_gives_the_export_only_build_time_variables(shop):
    from rxpanel.services import deployments

    apps.set_env("shop", {"GREETING": "hi", "THEME": "dark", "REFLEX_X": "1"}, build=["THEME"])
    deployments.trigger(shop.id, trigger="cli", by="me")
    plan = plans.plan_of(deployments.claim(shop.id))
    assert plan.app.build_env_keys == ("THEME",)
    assert plan.env == {"GREETING": "hi", "THEME": "dark", "REFLEX_X": "1"}
    assert plan.build_env == {"THEME": "dark", "REFLEX_X": "1"}


def test_remark_keeps_only_set_non_reflex_keys():
    env = {"A": "1", "B": "2", "REFLEX_C": "3"}
    assert envkinds.remark("A GONE", env, ["B", "REFLEX_C"], []) == "A B"
    assert envkinds.remark("A B", env, [], ["A"]) == "B"
    assert envkinds.marked(" B  A B ") == ("A", "B")


def test_an_env_replaced_by_the_edit_form_drops_the_marks_of_removed_keys(shop):
    apps.set_env("shop", {"A": "1", "B": "2"}, build=["A", "B"])
    form = {"name": "shop", "server": "s1", "source": "https://git.example/shop.git", "url": "http://127.0.0.1:9000"}
    apps.update("shop", apps.AppInput(**form), env={"B": "3"})
    assert apps.get("shop").build_env_keys == "B"
