"""Git hosts' push webhooks: which host sent it, is it signed with the app's
secret (compared in constant time), and what was pushed. Pure functions."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from dataclasses import dataclass

SHA = re.compile(r"[0-9a-f]{7,64}")
PUSHED_REF = re.compile(r"refs/(heads|tags)/[A-Za-z0-9._/-]{1,200}")  # what we may record
ZERO_SHA = re.compile(r"0+")


class Rejected(Exception):
    def __init__(self, status: int, reason: str):
        super().__init__(reason)
        self.status, self.reason = status, reason


@dataclass(frozen=True)
class Push:
    provider: str
    event: str  # push | ping | other host events
    delivery_id: str | None
    ref: str = ""  # refs/heads/main
    commit: str = ""

    @property
    def branch(self) -> str | None:
        return self.ref.removeprefix("refs/heads/") if self.ref.startswith("refs/heads/") else None


def _h(headers: dict[str, str], name: str) -> str:
    return headers.get(name.lower(), "")


def identify(headers: dict[str, str]) -> str | None:
    """Headers are lower-cased names. Forgejo sends Gitea's headers too."""
    if _h(headers, "X-Gitea-Signature") or _h(headers, "X-Forgejo-Signature"):
        return "gitea"
    if _h(headers, "X-GitHub-Event"):
        return "github"
    if _h(headers, "X-Gitlab-Event") or _h(headers, "X-Gitlab-Token"):
        return "gitlab"
    if _h(headers, "X-Rxpanel-Signature"):
        return "generic"
    return None


def _hmac(secret: str, body: bytes) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify(provider: str, headers: dict[str, str], body: bytes, secret: str) -> None:
    """Raise Rejected(401) unless the request carries the app's secret."""
    if provider == "gitlab":
        given, expected = _h(headers, "X-Gitlab-Token"), secret
    elif provider == "gitea":
        given = _h(headers, "X-Gitea-Signature") or _h(headers, "X-Forgejo-Signature")
        expected = _hmac(secret, body)
    else:  # github, generic: "sha256=<hex>"
        header = "X-Hub-Signature-256" if provider == "github" else "X-Rxpanel-Signature"
        given, expected = _h(headers, header), "sha256=" + _hmac(secret, body)
    if not given:
        raise Rejected(401, f"missing {provider} signature")
    if not hmac.compare_digest(given.strip().encode(), expected.encode()):
        raise Rejected(401, "bad signature")


def parse(provider: str, headers: dict[str, str], body: bytes) -> Push:
    """What was pushed (after verify). Raises Rejected(400) for a malformed body."""
    try:
        data = json.loads(body or b"{}")
    except (ValueError, UnicodeDecodeError):
        raise Rejected(400, "the body is not JSON") from None
    if not isinstance(data, dict):
        raise Rejected(400, "the body is not a JSON object")
    if provider == "github":
        event, delivery = _h(headers, "X-GitHub-Event"), _h(headers, "X-GitHub-Delivery")
    elif provider == "gitlab":
        event = (
            "push"
            if _h(headers, "X-Gitlab-Event") in ("Push Hook", "System Hook")
            else (_h(headers, "X-Gitlab-Event") or "unknown")
        )
        delivery = _h(headers, "X-Gitlab-Event-UUID") or _h(headers, "Idempotency-Key")
    elif provider == "gitea":
        event = _h(headers, "X-Gitea-Event") or _h(headers, "X-Forgejo-Event") or "push"
        delivery = _h(headers, "X-Gitea-Delivery") or _h(headers, "X-Forgejo-Delivery")
    else:
        event, delivery = (
            _h(headers, "X-Rxpanel-Event") or "push",
            _h(headers, "X-Rxpanel-Delivery"),
        )
    ref = data.get("ref") or ""
    if provider == "generic" and not ref and data.get("branch"):
        ref = f"refs/heads/{data['branch']}"
    commit = data.get("after") or data.get("checkout_sha") or data.get("commit") or ""
    if not isinstance(ref, str) or not isinstance(commit, str):
        raise Rejected(400, "ref and commit must be strings")
    if len(delivery) > 200 or any(ord(c) < 32 for c in delivery):
        raise Rejected(400, "bad delivery id")
    if event == "push" and commit and not (SHA.fullmatch(commit) or ZERO_SHA.fullmatch(commit)):
        raise Rejected(400, "the pushed commit is not a git sha")
    if ref and (
        not PUSHED_REF.fullmatch(ref)
        or ".." in ref
        or "//" in ref
        or ref.endswith((".", "/", ".lock"))
    ):
        raise Rejected(400, "the pushed ref is not a valid git branch or tag")
    return Push(provider, event, delivery or None, ref[:250], commit)


def is_deletion(push: Push) -> bool:
    return bool(ZERO_SHA.fullmatch(push.commit or "x"))
