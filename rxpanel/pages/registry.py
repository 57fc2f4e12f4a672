"""The list of pages: each page module registers itself here with `page`."""

from __future__ import annotations

from collections.abc import Callable

import reflex as rx

from rxpanel.components.layout import shell
from rxpanel.state.auth import AuthState

PAGES: list[dict] = []


def page(route: str, title: str, on_load=None) -> Callable:
    """Register a page: the shell around it, and the session check before its own
    on_load (which is itself @authorized, so data never loads for a visitor)."""

    def register(fn: Callable[[], rx.Component]) -> Callable[[], rx.Component]:
        loads = [AuthState.check_session, *([on_load] if on_load is not None else [])]
        PAGES.append(
            {
                "route": route,
                "title": f"{title} · rxpanel",
                "component": lambda: shell(title, fn()),
                "on_load": loads,
            }
        )
        return fn

    return register
