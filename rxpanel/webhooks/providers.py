"""Git hosts' push webhooks: which host sent it, is it signed with the app's
secret (compared in constant time; a generic delivery's timestamp too), and what
was pushed. Pure functions."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import time
from dataclasses import dataclass

SHA = re.compile(r"[0-9a-f]{7,64}")
PUSHED_REF = re.compile(r"refs/(heads|tags)/[A-Za-z0-9._/-]{1,200}")  # what we may record
ZERO_SHA = re.compile(r"0+")
MAX_SKEW = 300  # seconds a generic delivery's signed timestamp may be off the panel's clock


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


def timestamp(headers: dict[str, str]) -> int:
    """A generic delivery's signed X-Rxpanel-Timestamp (unix seconds)."""
    given = _h(headers, "X-Rxpanel-Timestamp").strip()
    if not given:
        raise Rejected(
            401,
            "missing X-Rxpanel-Timestamp: a generic delivery sends the current unix time "
            "and signs `<timestamp>.<body>`",
        )
    if not given.isdigit() or len(given) > 12:
        raise Rejected(401, "X-Rxpanel-Timestamp must be the unix time in whole seconds")
    return int(given)


def verify(
    provider: str, headers: dict[str, str], body: bytes, secret: str, now: float | None = None
) -> None:
    """Raise Rejected(401) unless the request carries the app's secret. What is
    refused before the comparison depends on the request alone, so a made-up
    secret (an unknown app) is refused exactly as a wrong one. A generic delivery
    signs its timestamp too, and is refused outside MAX_SKEW of the panel's clock."""
    sent = None
    if provider == "gitlab":
        given, expected = _h(headers, "X-Gitlab-Token"), secret
    elif provider == "gitea":
        given = _h(headers, "X-Gitea-Signature") or _h(headers, "X-Forgejo-Signature")
        expected = _hmac(secret, body)
    elif provider == "github":
        given, expected = _h(headers, "X-Hub-Signature-256"), "sha256=" + _hmac(secret, body)
    else:  # generic: "sha256=" + HMAC of "<timestamp>.<body>"
        given = _h(headers, "X-Rxpanel-Signature")
        sent = timestamp(headers) if given else None
        expected = "sha256=" + _hmac(secret, f"{sent}.".encode() + body)
    if not given:
        raise Rejected(401, f"missing {provider} signature")
    if not hmac.compare_digest(given.strip().encode(), expected.encode()):
        raise Rejected(401, "bad signature")
    if sent is not None:
        skew = int((time.time() if now is None else now) - sent)
        if abs(skew) > MAX_SKEW:
            raise Rejected(
                401,
                f"stale delivery: its X-Rxpanel-Timestamp is {abs(skew)} s "
                f"{'behind' if skew > 0 else 'ahead of'} the panel's clock (at most "
                f"{MAX_SKEW} s): sign each delivery when it is sent, with a synchronised clock",
            )


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
    else:  # no id: the signature is one (it covers the timestamp), so a replay is a repeat
        event = _h(headers, "X-Rxpanel-Event") or "push"
        delivery = _h(headers, "X-Rxpanel-Delivery") or (
            "sig-" + _h(headers, "X-Rxpanel-Signature").strip().removeprefix("sha256=")[:32]
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
