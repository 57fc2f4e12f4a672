"""The rx.App: pages, API routes, and the background work that runs with the panel.
Importing it touches no database: the lifespan migrates, then starts the worker."""

from __future__ import annotations

import asyncio
import contextlib

import reflex as rx

from rxpanel import announce, db, worker
from rxpanel.api import api
from rxpanel.pages import PAGES, app_detail, apps, deployment, overview, servers  # noqa: F401
from rxpanel.state import live


@contextlib.asynccontextmanager
async def background_work():
    """Entered before the server answers its first request: migrate the database,
    then start the worker (its first act, the lease, needs the tables). Then say
    where the panel answers and, on a first run, how to claim it (announce)."""
    await asyncio.to_thread(db.upgrade)
    await asyncio.to_thread(announce.announce)
    worker.start()
    yield


app = rx.App(
    api_transformer=api,
    toaster=rx.toast.provider(position="bottom-right", close_button=True),
)
for spec in PAGES:
    app.add_page(**spec)
app.register_lifespan_task(background_work)
live.attach(lambda: app.event_namespace)
