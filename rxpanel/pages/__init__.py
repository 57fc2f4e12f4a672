"""Thin pages: layout + components + a state. Each registers itself with `page`
(pages/registry.py); importing this package imports them all, so PAGES is complete."""

from __future__ import annotations

from rxpanel.pages import (  # noqa: F401
    app_detail,
    apps,
    audit,
    deployment,
    overview,
    servers,
    tokens,
    users,
)
from rxpanel.pages.registry import PAGES, page

__all__ = ["PAGES", "page"]
