"""HTTP routes beside the dashboard (matched before Reflex's own)."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.routing import Route

from rxpanel import apiv1
from rxpanel.webhooks import routes as webhooks

api = Starlette(
    routes=[Route("/api/hooks/{app}", webhooks.receive, methods=["POST"]), *apiv1.ROUTES]
)
