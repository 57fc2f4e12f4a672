"""An app's build limits end to end: the panel's defaults from the environment,
an app's own (validated, 'default' clears), the CLI's flags, the API, and the
worker's plan and the engine's builder that carry them to the build."""

from __future__ import annotations

import subprocess

import pytest

from rxpanel import settings
from rxpanel.deploy.builder import Builder
from rxpanel.deploy.limits import Limits
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


def test_the_panel_s_defaults_fit_a_real_build_and_come_from_the_environment(monkeypatch):
    s = settings.load()
    assert (s.build_memory_mb, s.build_cpu_seconds, s.build_timeout) == (2048, 900, 1200)
    monkeypatch.setenv("RXPANEL_BUILD_MEMORY_MB", "4096")
    monkeypatch.setenv("RXPANEL_BUILD_CPU_SECONDS", "1800")
    monkeypatch.setenv("RXPANEL_BUILD_TIMEOUT", "3600")
    s = settings.load()
    assert (s.build_memory_mb, s.build_cpu_seconds, s.build_timeout) == (4096, 1800, 3600)


@pytest.mark.parametrize("value", ["64", "lots", "-1", "999999999"])
def test_a_bad_default_is_refused_by_name(monkeypatch, value):
    monkeypatch.setenv("RXPANEL_BUILD_MEMORY_MB", value)
    with pytest.raises(settings.SettingsError) as refused:
        settings.load()
    assert str(refused.value) == (
        f"RXPANEL_BUILD_MEMORY_MB must be a whole number from 128 to 262144, not {value!r}"
    )


def test_a_new_app_uses_the_panel_s_defaults(shop):
    assert (shop.build_memory_mb, shop.build_cpu_seconds, shop.build_timeout) == (None,) * 3
    public = apps.public(apps.get("shop"))
    assert [public[k] for k in settings.BUILD_LIMITS] == [None, None, None]


def _update(**changes):
    current = apps.public(apps.get("shop"))
    fields = ("server", "source", "url", *apps.SETTINGS)
    return apps.update(
        "shop", apps.AppInput(name="shop", **{k: current[k] for k in fields} | changes)
    )


def test_an_app_sets_its_own_limits_and_default_clears_them(shop):
    _update(build_memory_mb="4096", build_cpu_seconds=1800, build_timeout="600")
    app = apps.get("shop")
    assert (app.build_memory_mb, app.build_cpu_seconds, app.build_timeout) == (4096, 1800, 600)
    _update(build_memory_mb="default", build_timeout="")
    app = apps.get("shop")
    assert (app.build_memory_mb, app.build_cpu_seconds, app.build_timeout) == (None, 1800, None)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("build_memory_mb", "100", "build memory (MB) 100 is out of range (128-262144)"),
        ("build_cpu_seconds", "soon", "build CPU time (s) 'soon' is not a number"),
        ("build_timeout", "0", "build timeout (s) 0 is out of range (10-86400)"),
    ],
)
def test_an_app_s_limit_out_of_bounds_is_refused_clearly(shop, field, value, message):
    with pytest.raises(ValidationError) as refused:
        _update(**{field: value})
    assert str(refused.value) == f"{message}; empty (or 'default'): the panel's default"


def test_the_cli_sets_and_clears_them(shop, capsys):
    from rxpanel import cli

    assert cli.main(["app", "update", "shop", "--build-memory-mb", "3072"]) == 0
    assert cli.main(["app", "update", "shop", "--build-cpu-seconds", "120"]) == 0
    assert (apps.get("shop").build_memory_mb, apps.get("shop").build_cpu_seconds) == (3072, 120)
    assert cli.main(["app", "update", "shop", "--build-memory-mb", "default"]) == 0
    assert (apps.get("shop").build_memory_mb, apps.get("shop").build_cpu_seconds) == (None, 120)


def test_the_plan_carries_them_and_the_builder_fills_in_the_defaults(shop):
    _update(build_memory_mb="3072")
    app = plans.settings_of(apps.get("shop"))
    assert (app.build_memory_mb, app.build_cpu_seconds, app.build_timeout) == (3072, None, None)
    assert Builder.of(app).limits == Limits(
        memory_mb=3072, cpu_seconds=900, timeout=1200, app="shop"
    )
