"""The HTTP side of webhooks: POST /api/hooks/{app}. The body is read with a
size limit, then handed as raw bytes to the service (signatures are over bytes)."""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse

from rxpanel.services import hooks


async def receive(request: Request) -> JSONResponse:
    name = request.path_params["app"]
    declared = request.headers.get("content-length", "0")
    if declared.isdigit() and int(declared) > hooks.MAX_BODY:
        return JSONResponse({"status": "rejected", "error": "body too large"}, status_code=413)
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > hooks.MAX_BODY:
            return JSONResponse({"status": "rejected", "error": "body too large"}, status_code=413)
    address = request.client.host if request.client else ""
    answer = await run_in_threadpool(
        hooks.receive, name, dict(request.headers), bytes(body), address
    )
    return JSONResponse(answer.body, status_code=answer.status)
