"""The HTTP side of webhooks: POST /api/hooks/{app}. The body is read with a
size limit, then handed as raw bytes to the service (signatures are over bytes)."""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse

from rxpanel import actions, clientaddr
from rxpanel.bodies import read_limited
from rxpanel.services import hooks


async def receive(request: Request) -> JSONResponse:
    name = request.path_params["app"]
    body = await read_limited(request, hooks.MAX_BODY)
    if body is None:
        return JSONResponse({"status": "rejected", "error": "body too large"}, status_code=413)
    address = clientaddr.of_request(request)  # the peer, or a trusted proxy's word
    answer = await run_in_threadpool(
        actions.receive_push, name, dict(request.headers), body, address
    )
    return JSONResponse(answer.body, status_code=answer.status)


async def not_found(request: Request) -> JSONResponse:
    """Anything else under the API: JSON, not the dashboard's page."""
    return JSONResponse({"status": "error", "error": "no such API route"}, status_code=404)
