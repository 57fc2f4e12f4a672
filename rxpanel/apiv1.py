"""The HTTP API (/api/v1), for scripts and the remote CLI. A bearer token
(services.tokens) is checked on every route, with the role the route needs;
refusals and changes go to the audit log."""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import wraps

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from rxpanel import actions, clientaddr, errors, validate
from rxpanel.actions import Actor
from rxpanel.bodies import read_limited
from rxpanel.models import ROLES, User
from rxpanel.present import as_json, deployment_json
from rxpanel.services import (
    app_records,
    apps,
    audit,
    deployments,
    health,
    releases,
    servers,
    tokens,
)

MAX_BODY = 64 * 1024


# The error family, mapped by type (the first match wins: a malformed value is a
# 400 although ValidationError is an Invalid).
STATUS = (
    (validate.ValidationError, 400),
    (errors.NotFound, 404),
    (errors.Conflict, 409),
    (errors.Invalid, 422),
    (errors.Forbidden, 403),
    (errors.Refused, 409),
)


def status_of(error: errors.Refused) -> int:
    return next(code for kind, code in STATUS if isinstance(error, kind))


class Caller:
    def __init__(self, user: User, role: str, address: str):
        self.user, self.role, self.address = user, role, address
        self.actor = Actor.api(user.username, role, address)

    def audit(self, action: str, target: str = "", outcome: str = "ok", detail: str = "") -> None:
        actions.record(self.actor, action, target, outcome=outcome, detail=detail)


def route(path: str, role: str, methods: tuple[str, ...] = ("GET",)):
    """Declare an API route needing `role`; the handler runs in a thread as
    fn(caller, request_params, body) and returns (status, json)."""

    def decorate(fn: Callable) -> Route:
        @wraps(fn)
        async def endpoint(request: Request) -> JSONResponse:
            address = clientaddr.of_request(request)
            header = request.headers.get("authorization", "")
            plain = header.removeprefix("Bearer ").strip() if header.startswith("Bearer ") else ""
            found = await run_in_threadpool(tokens.authenticate, plain)
            if found is None:
                return JSONResponse(
                    {"error": "a valid API token is required"},
                    status_code=401,
                    headers={"WWW-Authenticate": "Bearer"},
                )
            caller = Caller(found[0], found[1], address)
            if ROLES.index(caller.role) > ROLES.index(role):
                await run_in_threadpool(
                    caller.audit,
                    f"api.{fn.__name__}",
                    request.url.path,
                    "refused",
                    f"needs {role}, token allows {caller.role}",
                )
                return JSONResponse({"error": f"this needs the {role} role"}, status_code=403)
            body = await read_limited(request, MAX_BODY)
            if body is None:
                return JSONResponse({"error": "body too large"}, status_code=413)
            try:
                data = json.loads(body) if body else {}
                if not isinstance(data, dict):
                    raise ValueError
            except ValueError:
                return JSONResponse({"error": "the body must be a JSON object"}, status_code=400)
            params = {**request.query_params, **request.path_params}
            try:
                status, payload = await run_in_threadpool(fn, caller, params, data)
            except errors.Refused as e:
                return JSONResponse({"error": str(e)}, status_code=status_of(e))
            return JSONResponse(payload, status_code=status)

        return Route(path, endpoint, methods=list(methods))

    return decorate


@route("/api/v1/whoami", "viewer")
def whoami(caller: Caller, params: dict, data: dict):
    return 200, {"user": caller.user.username, "role": caller.role}


@route("/api/v1/servers", "viewer")
def server_list(caller: Caller, params: dict, data: dict):
    return 200, [servers.public(s) for s in servers.list_all()]


@route("/api/v1/apps", "viewer")
def app_list(caller: Caller, params: dict, data: dict):
    return 200, [app_records.public(a) for a in apps.list_all()]


def _app(params: dict):
    return apps.get(validate.slug(params["name"], "app name"))


@route("/api/v1/apps/{name}", "viewer")
def app_get(caller: Caller, params: dict, data: dict):
    return 200, as_json(app_records.detail(_app(params).name))


@route("/api/v1/apps/{name}/releases", "viewer")
def app_releases(caller: Caller, params: dict, data: dict):
    return 200, as_json(releases.records(_app(params)))


@route("/api/v1/apps/{name}/deployments", "viewer")
def app_deployments(caller: Caller, params: dict, data: dict):
    return 200, [deployment_json(d) for d in deployments.history(_app(params))]


@route("/api/v1/apps/{name}/health", "viewer")
def app_health(caller: Caller, params: dict, data: dict):
    app = _app(params)
    summary, incidents = health.summary(app), health.incident_records(app.id)
    return 200, {**as_json(summary), "incidents": as_json(incidents)}


@route("/api/v1/apps/{name}/doctor", "viewer")
def app_doctor(caller: Caller, params: dict, data: dict):
    """The doctor on the app's last checkout; ?probe=no leaves the health path alone."""
    probe = validate.flag(params.get("probe", "yes"), "probe")
    return 200, actions.doctor_app(_app(params).name, caller.actor, probe=probe).as_dict()


def _queued(asked: actions.Requested):
    return 202, {"deployment": asked.deployment.id, "status": asked.deployment.status}


def _optional(data: dict, key: str) -> str | None:
    """A field that may be left out; given, it must be a non-empty string."""
    if key not in data or data[key] is None:
        return None
    if not isinstance(data[key], str) or not data[key]:
        raise validate.ValidationError(f"{key} must be a non-empty string")
    return data[key]


@route("/api/v1/apps/{name}/deploy", "deployer", ("POST",))
def app_deploy(caller: Caller, params: dict, data: dict):
    name = validate.slug(params["name"], "app name")
    ref = _optional(data, "ref")
    return _queued(actions.request_deploy(name, caller.actor, ref))


@route("/api/v1/apps/{name}/rollback", "deployer", ("POST",))
def app_rollback(caller: Caller, params: dict, data: dict):
    name = validate.slug(params["name"], "app name")
    to = _optional(data, "to")
    force = data.get("force", False)
    if not isinstance(force, bool):
        raise validate.ValidationError("force must be true or false")
    try:
        return _queued(actions.request_rollback(name, caller.actor, to, force=force))
    except actions.SchemaWarning as e:  # 409, with the warning to show and how to go on
        error = f'{e.warning}: send "force": true to roll back anyway'
        return 409, {"error": error, "warning": e.warning}


@route("/api/v1/deployments/{id:int}", "viewer")
def deployment_get(caller: Caller, params: dict, data: dict):
    dep_id = int(params["id"])
    after = validate.positive(params.get("after", 0) or 0, "after", 0, 2**62)
    return 200, {
        "deployment": deployment_json(deployments.detail(dep_id)),
        "steps": as_json(deployments.steps(dep_id)),
        "logs": as_json(deployments.logs_after(dep_id, after, deployments.LOG_LIMIT)),
    }


@route("/api/v1/audit", "admin")
def audit_list(caller: Caller, params: dict, data: dict):
    limit = validate.positive(params.get("limit", 200), "limit", 1, 5000)
    rows = audit.records(
        actor=params.get("actor", ""),
        action=params.get("action", ""),
        target=params.get("target", ""),
        outcome=params.get("outcome", ""),
        limit=limit,
    )
    return 200, as_json(rows)


ROUTES = [
    whoami,
    server_list,
    app_list,
    app_get,
    app_releases,
    app_deployments,
    app_health,
    app_doctor,
    app_deploy,
    app_rollback,
    deployment_get,
    audit_list,
]
