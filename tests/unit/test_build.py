"""The local build's environment: what the app's `reflex export` may see."""

from __future__ import annotations

from rxpanel.deploy import build


def test_the_panels_own_settings_do_not_reach_the_apps_build(monkeypatch):
    # inside `reflex run`, the panel's process carries these for itself
    for name, value in {
        "__REFLEX_SKIP_COMPILE": "True",
        "__REFLEX_COMPILE_CONTEXT": "run",
        "REFLEX_ENV_MODE": "prod",
        "REFLEX_BACKEND_PORT": "8000",
        "RXPANEL_SECRET_KEY": "the panel's key",
        "VIRTUAL_ENV": "/panel/.venv",
        "HOME": "/root",
    }.items():
        monkeypatch.setenv(name, value)
    env = build._clean_env()
    assert not [k for k in env if k.startswith(("REFLEX_", "__REFLEX_", "RXPANEL_"))]
    assert "VIRTUAL_ENV" not in env
    assert env["HOME"] == "/root"  # the rest of the environment stays
