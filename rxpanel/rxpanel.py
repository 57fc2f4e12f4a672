"""The rx.App: pages, and the background work that runs with the panel."""

from __future__ import annotations

import reflex as rx

from rxpanel import db, worker
from rxpanel.api import api
from rxpanel.pages import PAGES, app_detail, apps, deployment, overview, servers  # noqa: F401

db.upgrade()


async def background_work() -> None:
    worker.start()


app = rx.App(
    api_transformer=api,
    toaster=rx.toast.provider(position="bottom-right", close_button=True),
)
for spec in PAGES:
    app.add_page(**spec)
app.register_lifespan_task(background_work)
