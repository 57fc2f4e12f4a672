"""Notification channels (generic JSON, Slack, Discord webhooks) and the queue of
messages to them: every message is a row, retried with backoff, then sent or failed.
Channel URLs are secrets (they post as you): stored encrypted, never shown."""

from __future__ import annotations

import json
from datetime import timedelta
from urllib.parse import urlsplit

from sqlmodel import col, delete, select

from rxpanel import db, secrets, validate
from rxpanel.models import Notification, NotificationChannel, utcnow
from rxpanel.services import Conflict, NotFound

KINDS = ("webhook", "slack", "discord")
BACKOFF = (10, 30, 90, 300, 900)  # seconds before attempts 2..6; then it has failed


def add_channel(name: str, kind: str, url: str) -> NotificationChannel:
    name = validate.slug(name, "channel name")
    if kind not in KINDS:
        raise validate.ValidationError(f"channel kind must be one of {', '.join(KINDS)}")
    url = (url or "").strip()
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname or any(ord(c) < 33 for c in url):
        raise validate.ValidationError("channel URL must be an http(s) URL")
    with db.session() as s:
        if s.exec(select(NotificationChannel).where(NotificationChannel.name == name)).first():
            raise Conflict(f"a channel named {name!r} already exists")
        channel = NotificationChannel(name=name, kind=kind, url_enc=secrets.encrypt(url))
        s.add(channel)
    return channel


def remove_channel(name: str) -> None:
    with db.session() as s:
        channel = s.exec(
            select(NotificationChannel).where(NotificationChannel.name == name)
        ).first()
        if channel is None:
            raise NotFound(f"no channel named {name!r}")
        s.exec(delete(Notification).where(Notification.channel_id == channel.id))
        s.delete(channel)


def channels() -> list[NotificationChannel]:
    with db.session() as s:
        return list(s.exec(select(NotificationChannel).order_by(NotificationChannel.name)).all())


def channel_url(channel: NotificationChannel) -> str:
    return secrets.decrypt(channel.url_enc)


def enqueue(event: str, text: str, *, app_id: int | None = None, **data) -> int:
    """One pending message per enabled channel; returns how many."""
    payload = json.dumps({"event": event, "text": text, **data}, default=str)
    with db.session() as s:
        targets = s.exec(select(NotificationChannel).where(NotificationChannel.enabled)).all()
        s.add_all(
            [
                Notification(
                    channel_id=c.id, event=event, app_id=app_id, text=text, payload=payload
                )
                for c in targets
            ]
        )
    return len(targets)


def due(limit: int = 100) -> list[tuple[Notification, NotificationChannel]]:
    with db.session() as s:
        rows = s.exec(
            select(Notification, NotificationChannel)
            .join(NotificationChannel, Notification.channel_id == NotificationChannel.id)
            .where(Notification.status == "pending", Notification.next_attempt_at <= utcnow())
            .order_by(Notification.id)
            .limit(limit)
        ).all()
        return list(rows)


def attempted(notification_id: int, error: str | None) -> None:
    """Record one delivery attempt: sent, or retried later, or given up."""
    with db.session() as s:
        n = s.get(Notification, notification_id)
        n.attempts += 1
        if error is None:
            n.status, n.sent_at, n.last_error = "sent", utcnow(), None
        else:
            n.last_error = error[:500]
            if n.attempts > len(BACKOFF):
                n.status = "failed"
            else:
                n.next_attempt_at = utcnow() + timedelta(seconds=BACKOFF[n.attempts - 1])
        s.add(n)


def recent(app_id: int | None = None, limit: int = 50) -> list[Notification]:
    with db.session() as s:
        q = select(Notification)
        if app_id is not None:
            q = q.where(Notification.app_id == app_id)
        return list(s.exec(q.order_by(col(Notification.id).desc()).limit(limit)).all())


def render(kind: str, notification: Notification) -> dict:
    """The JSON body each kind of incoming webhook expects. Pure."""
    if kind == "slack":
        return {"text": notification.text}
    if kind == "discord":
        return {"content": notification.text[:2000]}
    return json.loads(notification.payload)
