"""An app's deploy webhook: its secret, and what happens to each delivery.
Every delivery to an app is recorded with its outcome; one for an unknown app is
answered as a bad signature and written nowhere; a repeated delivery id is
answered without queuing again; a push to another branch is ignored."""

from __future__ import annotations

import secrets as pysecrets
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select

from rxpanel import db, secrets
from rxpanel.models import App, WebhookDelivery
from rxpanel.services import NotFound
from rxpanel.webhooks.providers import Push, Rejected, identify, is_deletion, parse, verify

MAX_BODY = 1024 * 1024  # bytes: larger deliveries are refused


@dataclass
class Answer:
    status: int
    body: dict = field(default_factory=dict)
    refused: str = ""  # why a delivery was turned away (for the audit log)
    provider: str = ""


@dataclass(frozen=True)
class Accepted:
    """A verified push to the app's branch, its delivery id claimed: the caller
    queues the deploy and links it with `link`."""

    app: App
    push: Push
    provider: str
    row_id: int


def path(app_name: str) -> str:
    return f"/api/hooks/{app_name}"


def secret(app_name: str, rotate: bool = False) -> str:
    """The app's webhook secret, made on first use or when rotated."""
    with db.session() as s:
        app = s.exec(select(App).where(App.name == app_name)).first()
        if app is None:
            raise NotFound(f"no app named {app_name!r}")
        if rotate or not app.webhook_secret_enc:
            app.webhook_secret_enc = secrets.encrypt(pysecrets.token_urlsafe(32))
            s.add(app)
        return secrets.decrypt(app.webhook_secret_enc)


def _record(
    app_id: int,
    answer: Answer,
    *,
    provider: str = "",
    push: Push | None = None,
    detail: str = "",
    address: str = "",
    delivery_id: str | None = None,
    deployment_id: int | None = None,
) -> Answer:
    with db.session() as s:
        s.add(
            WebhookDelivery(
                app_id=app_id,
                provider=provider,
                delivery_id=delivery_id,
                event=push.event if push else "",
                ref=push.ref if push else "",
                commit=push.commit if push else "",
                outcome=answer.body.get("status", "error"),
                detail=detail[:500],
                status_code=answer.status,
                deployment_id=deployment_id,
                address=address[:64],
            )
        )
    return answer


TOO_LARGE = f"body larger than {MAX_BODY} bytes"
NO_SIGNATURE = (
    "no signature: expected a GitHub, GitLab, Gitea/Forgejo or X-Rxpanel-Signature header"
)


def _made_up() -> str:
    return pysecrets.token_urlsafe(32)


def _unknown(headers: dict[str, str], body: bytes) -> Answer:
    """A delivery for an app that does not exist: refused exactly as a bad signature
    for an app that does (the same checks, against a made-up secret), and nothing
    written, so neither the answer nor the tables tell which names exist."""
    if len(body) > MAX_BODY:
        reason, status = TOO_LARGE, 413
    elif (provider := identify(headers)) is None:
        reason, status = NO_SIGNATURE, 401
    else:
        try:
            verify(provider, headers, body, _made_up())
            reason, status = "bad signature", 401
        except Rejected as e:
            reason, status = e.reason, e.status
    return Answer(status, {"status": "rejected", "error": reason})


def settle(row_id: int, answer: Answer, detail: str) -> Answer:
    """A claimed delivery that is not deployed after all (an old push): its outcome."""
    with db.session() as s:
        row = s.get(WebhookDelivery, row_id)
        row.outcome, row.status_code = answer.body.get("status", "error"), answer.status
        row.detail = detail[:500]
        s.add(row)
    return answer


def receive(
    app_name: str, headers: dict[str, str], body: bytes, address: str = ""
) -> Answer | Accepted:
    """Verify and record a delivery: an Answer when there is nothing to deploy
    (refused, ignored, a repeat), Accepted when a deploy is to be queued."""
    headers = {k.lower(): v for k, v in headers.items()}
    with db.session() as s:
        app = s.exec(select(App).where(App.name == app_name)).first()
    if app is None:
        return _unknown(headers, body)

    def reject(status: int, reason: str, provider: str = "", said: str = "") -> Answer:
        # an unverified delivery id is not recorded as one: it must not block the real one
        return _record(
            app.id,
            Answer(status, {"status": "rejected", "error": said or reason}, reason, provider),
            provider=provider,
            detail=reason,
            address=address,
        )

    if len(body) > MAX_BODY:
        return reject(413, TOO_LARGE)
    provider = identify(headers)
    if provider is None:
        return reject(401, NO_SIGNATURE)
    try:
        if not app.webhook_secret_enc:  # answered as a bad signature; the row says why
            verify(provider, headers, body, _made_up())
            raise Rejected(401, "bad signature")
        verify(provider, headers, body, secrets.decrypt(app.webhook_secret_enc))
        push = parse(provider, headers, body)
    except Rejected as e:
        if e.reason == "bad signature" and not app.webhook_secret_enc:
            why = "this app has no webhook secret yet: run `rxpanel app webhook`"
            return reject(e.status, why, provider, said=e.reason)
        return reject(e.status, e.reason, provider)

    def answer(status: int, outcome: str, detail: str) -> Answer:
        # only queued deliveries claim their id (the dedupe key); others note it
        note = f"{detail} (delivery {push.delivery_id})" if push.delivery_id else detail
        return _record(
            app.id,
            Answer(status, {"status": outcome, "detail": detail}),
            provider=provider,
            push=push,
            detail=note,
            address=address,
        )

    if push.event == "ping":
        return _record(
            app.id,
            Answer(200, {"status": "pong"}),
            provider=provider,
            push=push,
            detail="ping",
            address=address,
        )
    if push.event != "push":
        return answer(202, "ignored", f"{push.event} events do not deploy")
    if push.branch != app.branch or is_deletion(push):
        why = (
            "branch deleted" if is_deletion(push) else f"{push.ref or 'no ref'} is not {app.branch}"
        )
        return answer(202, "ignored", why)
    # Claim the delivery id first: a concurrent repeat hits the unique index.
    try:
        with db.session() as s:
            row = WebhookDelivery(
                app_id=app.id,
                provider=provider,
                delivery_id=push.delivery_id,
                event=push.event,
                ref=push.ref,
                commit=push.commit,
                outcome="queued",
                status_code=202,
                address=address[:64],
            )
            s.add(row)
    except IntegrityError:
        with db.session() as s:
            first = s.exec(
                select(WebhookDelivery).where(
                    WebhookDelivery.app_id == app.id,
                    WebhookDelivery.provider == provider,
                    WebhookDelivery.delivery_id == push.delivery_id,
                )
            ).first()
        return _record(
            app.id,
            Answer(
                200, {"status": "duplicate", "deployment": first.deployment_id if first else None}
            ),
            provider=provider,
            push=push,
            address=address,
            detail=f"delivery {push.delivery_id} was already received",
        )
    return Accepted(app, push, provider, row.id)


def link(row_id: int, dep_id: int) -> None:
    """The delivery queued this deployment."""
    with db.session() as s:
        row = s.get(WebhookDelivery, row_id)
        row.deployment_id, row.detail = dep_id, f"deployment #{dep_id}"
        s.add(row)


def recent(app_name: str, limit: int = 30) -> list[WebhookDelivery]:
    with db.session() as s:
        app = s.exec(select(App).where(App.name == app_name)).first()
        if app is None:
            raise NotFound(f"no app named {app_name!r}")
        return list(
            s.exec(
                select(WebhookDelivery)
                .where(WebhookDelivery.app_id == app.id)
                .order_by(col(WebhookDelivery.id).desc())
                .limit(limit)
            ).all()
        )


@dataclass(frozen=True)
class DeliveryRecord:
    id: int
    at: datetime
    provider: str
    delivery: str | None
    event: str
    ref: str
    commit: str
    outcome: str
    status: int
    detail: str
    deployment: int | None


def deliveries(app_name: str, limit: int = 30) -> list[DeliveryRecord]:
    """The app's webhook deliveries, newest first."""
    return [
        DeliveryRecord(
            d.id,
            d.created_at,
            d.provider,
            d.delivery_id,
            d.event,
            d.ref,
            d.commit,
            d.outcome,
            d.status_code,
            d.detail,
            d.deployment_id,
        )
        for d in recent(app_name, limit)
    ]
