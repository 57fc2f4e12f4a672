"""Receive a push: the webhooks service verifies and records the delivery; a push
to the app's branch becomes a deploy request like any other."""

from __future__ import annotations

from rxpanel.actions.actor import Actor, record
from rxpanel.actions.deploys import request_deploy
from rxpanel.services import hooks


def receive_push(
    app_name: str, headers: dict[str, str], body: bytes, address: str = ""
) -> hooks.Answer:
    got = hooks.receive(app_name, headers, body, address)
    if isinstance(got, hooks.Answer):
        if got.refused:
            actor = Actor.webhook(got.provider, address)
            record(actor, "webhook", f"app:{app_name}", outcome="refused", detail=got.refused)
        return got
    push = got.push
    requested = request_deploy(
        got.app,
        Actor.webhook(got.provider, address),
        push.commit or None,
        by=f"{got.provider} push {push.commit[:12]}".strip(),
        note=push.ref,
    )
    dep = requested.deployment
    hooks.link(got.row_id, dep.id)
    return hooks.Answer(202, {"status": "queued", "deployment": dep.id, "commit": push.commit})
