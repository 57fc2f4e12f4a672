"""Delivering queued notifications, and the words of each alert."""

from __future__ import annotations

import asyncio

import httpx

from rxpanel.services import notify
from rxpanel.services.health import Change

ICONS = {"healthy": "✅", "degraded": "⚠️", "down": "🔴"}


def health_text(change: Change, url: str) -> str:
    if change.after == "healthy":
        return f"{ICONS['healthy']} {change.app} recovered ({url})"
    text = f"{ICONS[change.after]} {change.app} is {change.after}: {change.cause} ({url})"
    if change.rollback:
        text += " — it went live minutes ago, so it is being rolled back"
    return text


def tell_health(change: Change, url: str) -> None:
    event = "health.recovered" if change.after == "healthy" else f"health.{change.after}"
    notify.enqueue(
        event,
        health_text(change, url),
        app_id=change.app_id,
        app=change.app,
        before=change.before,
        after=change.after,
        cause=change.cause,
        auto_rollback=change.rollback,
        url=url,
    )


async def deliver_due(client: httpx.AsyncClient) -> int:
    """Send what is due; each attempt is recorded. Returns how many were sent."""
    sent = 0
    for notification, channel in await asyncio.to_thread(notify.due):
        try:
            response = await client.post(
                notify.channel_url(channel),
                json=notify.render(channel.kind, notification),
                timeout=10,
            )
            error = None if 200 <= response.status_code < 300 else f"HTTP {response.status_code}"
        except httpx.HTTPError as e:
            error = f"{type(e).__name__}: {e}"
        await asyncio.to_thread(notify.attempted, notification.id, error)
        sent += error is None
    return sent
