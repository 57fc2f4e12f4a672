"""Every page builds its component tree (what `reflex` compiles first), in
seconds and without node: a wrong prop or a bad Var fails here, not at deploy."""

from __future__ import annotations

import pytest


def test_every_page_builds(home):
    import reflex as rx

    from rxpanel import rxpanel  # noqa: F401  (registers the pages)
    from rxpanel.pages import PAGES

    routes = {spec["route"] for spec in PAGES}
    assert {"/", "/servers", "/apps", "/apps/[name]", "/deployments/[id]"} <= routes
    for spec in PAGES:
        component = spec["component"]()
        assert isinstance(component, rx.Component), spec["route"]
        assert component.render(), spec["route"]


@pytest.mark.parametrize("name", ["layout", "badges", "forms", "log_view"])
def test_components_import(name):
    import importlib

    assert importlib.import_module(f"rxpanel.components.{name}")
