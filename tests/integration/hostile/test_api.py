"""Hostile requests to the HTTP API (/api/v1): refused with a 4xx and a JSON error, never
a 5xx, and nothing queued or written."""

from __future__ import annotations

import pytest

from tests.integration.hostile.world import LONG, TARGET, HttpCase, World, check_http

pytestmark = [pytest.mark.integration, pytest.mark.browser]


def _api(method: str, path: str, token: bool = True, headers: dict | None = None, **kw):
    def make(w: World):
        h = {"Authorization": f"Bearer {w.token}"} if token else {}
        return method, path, {"headers": {**h, **(headers or {})}, **kw}

    return make


DEPLOY = f"/api/v1/apps/{TARGET}/deploy"
ROLLBACK = f"/api/v1/apps/{TARGET}/rollback"
API_CASES = [
    HttpCase(
        "deploy-ref-semicolon",
        _api("POST", DEPLOY, json={"ref": "main;touch /tmp/pwn"}),
        400,
        "ref",
    ),
    HttpCase(
        "deploy-ref-upload-pack",
        _api("POST", DEPLOY, json={"ref": "--upload-pack=touch /tmp/pwn"}),
        400,
        "ref",
    ),
    HttpCase(
        "deploy-ref-traversal", _api("POST", DEPLOY, json={"ref": "../../etc/passwd"}), 400, "ref"
    ),
    HttpCase(
        "deploy-ref-newline", _api("POST", DEPLOY, json={"ref": "main\ntouch /tmp/pwn"}), 400, "ref"
    ),
    HttpCase(
        "deploy-ref-subshell", _api("POST", DEPLOY, json={"ref": "$(touch /tmp/pwn)"}), 400, "ref"
    ),
    HttpCase("deploy-ref-object", _api("POST", DEPLOY, json={"ref": {"$ne": None}}), 400, "ref"),
    HttpCase(
        "deploy-ref-5000", _api("POST", DEPLOY, json={"ref": "a" * LONG}), 400, "5000 characters"
    ),
    HttpCase(
        "deploy-ref-duplicate-key",
        _api("POST", DEPLOY, content=b'{"ref": "main", "ref": "$(touch /tmp/pwn)"}'),
        400,
        "ref",
    ),
    HttpCase(
        "rollback-to-traversal",
        _api("POST", ROLLBACK, json={"to": "../../../etc"}),
        400,
        "not a release id",
    ),
    HttpCase(
        "rollback-to-subshell",
        _api("POST", ROLLBACK, json={"to": "x$(touch /tmp/pwn)"}),
        400,
        "not a release id",
    ),
    HttpCase(
        "rollback-to-semicolon",
        _api("POST", ROLLBACK, json={"to": "20261121T180102-ab12cd;id"}),
        400,
        "not a release id",
    ),
    HttpCase("body-malformed", _api("POST", DEPLOY, content=b"{nope"), 400, "JSON object"),
    HttpCase("body-array", _api("POST", DEPLOY, content=b'[{"ref": "main"}]'), 400, "JSON object"),
    HttpCase("body-not-utf8", _api("POST", DEPLOY, content=b"\xff\xfe{}"), 400, "JSON object"),
    HttpCase(
        "body-oversized",
        _api("POST", DEPLOY, content=b'{"ref": "' + b"a" * 70_000 + b'"}'),
        413,
        "too large",
    ),
    HttpCase(
        "body-oversized-2mib",
        _api("POST", ROLLBACK, content=b'{"to": "' + b"1" * (2 << 20) + b'"}'),
        413,
        "too large",
    ),
    HttpCase(
        "app-semicolon",
        _api("POST", "/api/v1/apps/x;touch%20pwn/deploy", json={}),
        400,
        "app name",
    ),
    HttpCase(
        "app-newline", _api("POST", "/api/v1/apps/x%0Aid/rollback", json={}), 404, "", json=False
    ),
    HttpCase(
        "app-5000", _api("POST", f"/api/v1/apps/{'a' * LONG}/deploy", json={}), 400, "app name"
    ),
    HttpCase(
        "app-path-traversal",
        _api("POST", "/api/v1/apps/..%2F..%2Fetc/deploy", json={}),
        404,
        "no such|not found",
    ),
    HttpCase(
        "token-sql",
        _api("POST", DEPLOY, token=False, headers={"Authorization": "Bearer ' OR 1=1 --"}, json={}),
        401,
        "token",
    ),
]


@pytest.mark.parametrize("case", API_CASES, ids=str)
def test_api_refuses(world, case: HttpCase):
    check_http(world, case, "api")
