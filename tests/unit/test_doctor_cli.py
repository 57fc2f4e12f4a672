"""`rxpanel doctor APP` on the panel host: the last checkout, or a fresh one with
--checkout; --json; exit 1 when something FAILs; the health path when deployed."""

from __future__ import annotations

import json
import subprocess

import pytest

from rxpanel import actions
from rxpanel.actions import Actor
from rxpanel.cli import main
from rxpanel.deploy import build, resolve
from rxpanel.services import apps, servers


@pytest.fixture(autouse=True)
def offline_resolve(monkeypatch):
    """The build's resolution without PyPI or uv: the requirements as they are, kept
    where a real resolution keeps them."""

    def requirements_as_they_are(src, cache_dir, run, log):
        origin, lines = resolve.source_of(src)
        pinned = ("\n".join(lines) + "\n").encode()
        kept = resolve.kept_file(src, cache_dir, origin)
        kept.parent.mkdir(parents=True, exist_ok=True)
        kept.write_bytes(pinned)
        return resolve.Resolved(pinned, resolve.pinned_reflex(pinned), origin)

    monkeypatch.setattr(resolve, "resolve", requirements_as_they_are)


@pytest.fixture
def shop(home, tmp_path):
    key = tmp_path / "k"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    servers.add(servers.ServerInput(name="s1", host="127.0.0.1"), key.read_text())
    src = tmp_path / "src"
    (src / "shop").mkdir(parents=True)
    (src / "rxconfig.py").write_text('import reflex as rx\nconfig = rx.Config(app_name="shop")\n')
    (src / "requirements.txt").write_text("reflex==0.10.1\n")
    (src / "shop" / "shop.py").write_text("import reflex as rx\napp = rx.App()\n")
    apps.add(
        apps.AppInput(
            name="shop", server="s1", source=str(src), url="http://shop.x", env={"DB_URL": "x"}
        )
    )
    return src


def test_without_a_checkout_it_says_so(shop, capsys):
    assert main(["doctor", "shop", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["source"] is None and data["worst"] == "WARN"
    assert data["findings"] == [
        {
            "check": "source",
            "level": "WARN",
            "message": "no checkout of shop yet: deploy it once, or run "
            "`rxpanel doctor shop --checkout`",
        }
    ]


def test_it_checks_out_and_reports_each_finding(shop, capsys):
    assert main(["doctor", "shop", "--checkout"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == f"shop: {build.workspace('shop') / 'src'}"
    assert (
        "  PASS reflex: Reflex 0.10.1 (reflex==0.10.1 in requirements.txt, resolved to "
        "0.10.1)" in out
    )
    assert (
        "  WARN env-names: DB_URL is ignored by Reflex 0.10.1 (>= 0.8 reads only "
        "REFLEX_DB_URL): rename it to REFLEX_DB_URL"
    ) in out
    assert out[-1] == "shop: 10 passed, 1 WARN, 0 FAIL"


def test_a_failure_exits_1(shop, capsys):
    (shop / "shop" / "models.py").write_text(
        "import reflex as rx\nclass A(rx.Model):\n    x: int\n"
    )
    assert main(["doctor", "shop", "--checkout", "--json"]) == 1
    data = json.loads(capsys.readouterr().out)
    assert data["worst"] == "FAIL"
    [fail] = [f for f in data["findings"] if f["level"] == "FAIL"]
    assert fail["check"] == "db-extra" and fail["message"].endswith(
        "add reflex[db]==0.10.1 to requirements.txt"
    )


def test_a_deployed_app_gets_its_health_path_asked(shop, monkeypatch):
    from rxpanel.actions import doctor

    asked = []
    monkeypatch.setattr(doctor, "health_path", lambda url: asked.append(url) or None)
    actions.doctor_app("shop", Actor.cli())
    assert asked == []  # never deployed
    monkeypatch.setattr(apps, "get", lambda name: _deployed(apps.get_by_id(1)))
    actions.doctor_app("shop", Actor.cli(), probe=True)
    assert asked == ["http://shop.x/ping"]


def _deployed(app):
    app.current_release_id = "20260101T000000-aaaa"
    return app


def test_the_health_path_answers_or_warns():
    from rxpanel.actions.doctor import health_path

    finding = health_path("http://127.0.0.1:9/ping", timeout=0.5)
    assert finding.level == "WARN" and finding.message.startswith(
        "http://127.0.0.1:9/ping did not answer: ConnectError"
    )


def test_the_api_and_the_remote_cli_answer_the_doctor(shop, capsys):
    import argparse

    from starlette.testclient import TestClient

    from rxpanel import client
    from rxpanel.api import api as asgi
    from rxpanel.cli import doctor as command
    from rxpanel.services import tokens, users

    vic = users.create("vic", "password-vic", "viewer")
    api = TestClient(asgi)
    api.headers["Authorization"] = f"Bearer {tokens.issue(vic, 'ci', 'read')[1]}"
    actions.doctor_app("shop", Actor.cli(), checkout=True)
    answer = api.get("/api/v1/apps/shop/doctor", params={"probe": "no"})
    assert answer.status_code == 200 and answer.json()["summary"] == "10 passed, 1 WARN, 0 FAIL"
    panel = object.__new__(client.Panel)
    panel.client = api
    panel.client.base_url = "http://testserver/api/v1"
    args = argparse.Namespace(app="shop", json=False, checkout=False, no_probe=True)
    assert command.doctor_remote(args, panel) == 0
    assert capsys.readouterr().out.splitlines()[-1] == "shop: 10 passed, 1 WARN, 0 FAIL"
    assert api.get("/api/v1/apps/nope/doctor").status_code == 404
