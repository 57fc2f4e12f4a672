"""One deployment: who or what triggered it, its steps, its full log, why it failed."""

from __future__ import annotations

import reflex as rx

from rxpanel import routes
from rxpanel.components.badges import status_badge
from rxpanel.components.layout import page_header
from rxpanel.components.log_view import log_view, steps_table
from rxpanel.pages.registry import page
from rxpanel.state.deployment import DeploymentState as S


def fact(label: str, value) -> rx.Component:
    return rx.data_list.item(rx.data_list.label(label), rx.data_list.value(value))


@page(routes.DEPLOYMENT, "Deployment", on_load=S.load)
def deployment_page() -> rx.Component:
    d = S.dep
    return rx.cond(
        S.missing != "",
        rx.callout(S.missing, icon="triangle_alert", color_scheme="red"),
        rx.vstack(
            page_header(
                ("Deployment #", d["id"]),
                rx.link("← ", d["app"], href="/apps/" + d["app"]),
                badge=status_badge(d["status"], id="deployment-status"),
            ),
            rx.cond(
                d["reason"] != "",
                rx.callout(
                    d["reason"],
                    icon=rx.cond(d["status"] == "success", "circle_check", "triangle_alert"),
                    color_scheme=rx.cond(
                        d["status"] == "success",
                        "green",
                        rx.cond(d["status"] == "failed", "red", "gray"),
                    ),
                    width="100%",
                    id="deployment-reason",
                ),
            ),
            rx.grid(
                rx.card(
                    rx.data_list.root(
                        fact("Kind", d["kind"]),
                        fact("Triggered by", rx.text(d["trigger"], " · ", d["by"])),
                        fact("Requested ref", rx.cond(d["ref"] != "", d["ref"], "branch head")),
                        fact("Commit", rx.code(d["commit"], variant="ghost")),
                        fact("Release", rx.code(d["release"], variant="ghost")),
                        fact("Created", d["created"]),
                        fact("Started", d["started"]),
                        fact("Finished", d["finished"]),
                        fact("Took", d["duration"]),
                    )
                ),
                rx.card(steps_table(S.steps)),
                columns=rx.breakpoints(initial="1", md="2"),
                spacing="4",
                width="100%",
            ),
            log_view(S.lines, height="36em", id="full-log"),
            spacing="4",
            width="100%",
        ),
    )
