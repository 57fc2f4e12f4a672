"""Status badges: one colour per meaning, everywhere."""

from __future__ import annotations

import reflex as rx

COLORS = {
    # app status
    "live": "green",
    "deploying": "blue",
    "failed": "red",
    "unhealthy": "orange",
    "new": "gray",
    # deployment status
    "success": "green",
    "running": "blue",
    "queued": "gray",
    "superseded": "gray",
    "interrupted": "orange",
    "cancelled": "gray",
    # release status
    "good": "green",
    "ready": "gray",
    "bad": "red",
    "removed": "gray",
    # steps and checks
    "ok": "green",
    # health
    "healthy": "green",
    "degraded": "orange",
    "down": "red",
    "unknown": "gray",
    # the doctor's findings
    "PASS": "green",
    "WARN": "orange",
    "FAIL": "red",
    # audit outcomes, users, API tokens
    "refused": "orange",
    "enabled": "green",
    "disabled": "red",
    "active": "green",
    "revoked": "gray",
    "expired": "gray",
}


def status_badge(status: rx.Var | str, **props) -> rx.Component:
    color = rx.match(status, *[(k, v) for k, v in COLORS.items()], "gray")
    return rx.badge(status, color_scheme=color, variant="soft", radius="full", **props)
