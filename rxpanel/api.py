"""HTTP routes beside the dashboard (matched before Reflex's own)."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.routing import Route

from rxpanel import apiv1
from rxpanel.webhooks import routes as webhooks

ANY = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]

api = Starlette(
    routes=[
        Route("/api/hooks/{app}", webhooks.receive, methods=["POST"]),
        *apiv1.ROUTES,
        # the rest of /api answers in JSON too (a malformed path, a wrong method)
        Route("/api/hooks/{rest:path}", webhooks.not_found, methods=ANY),
        Route("/api/v1/{rest:path}", webhooks.not_found, methods=ANY),
    ]
)
