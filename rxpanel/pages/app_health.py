"""The app page's health and webhook sections: uptime, latency, incidents, and
what each push delivery became."""

from __future__ import annotations

import reflex as rx

from rxpanel.components.badges import status_badge
from rxpanel.components.layout import section
from rxpanel.components.tables import data_table
from rxpanel.state.app_detail import AppDetailState as S


def stat(label: str, value, size: str = "5", **props) -> rx.Component:
    return rx.vstack(
        rx.text(label, size="1", color_scheme="gray"),
        rx.text(value, size=size, weight="bold", **props),
        spacing="0",
    )


def incident_row(i: dict) -> rx.Component:
    return rx.table.row(
        rx.table.cell(rx.text(i["started"], size="1")),
        rx.table.cell(rx.text(i["ended"], size="1")),
        rx.table.cell(status_badge(i["state"])),
        rx.table.cell(rx.text(i["cause"], size="1")),
        rx.table.cell(rx.text(i["rolled_back"], size="1", color_scheme="orange")),
        align="center",
    )


def health_card() -> rx.Component:
    h = S.health
    chart = rx.cond(
        S.latency.length() > 0,
        rx.recharts.line_chart(
            rx.recharts.line(
                data_key="avg", name="average ms", stroke=rx.color("accent", 9), dot=False
            ),
            rx.recharts.line(
                data_key="max",
                name="slowest ms",
                stroke=rx.color("gray", 8),
                dot=False,
                stroke_dasharray="4 4",
            ),
            rx.recharts.x_axis(data_key="hour"),
            rx.recharts.y_axis(unit=" ms", width=70),
            rx.recharts.cartesian_grid(stroke_dasharray="3 3"),
            rx.recharts.graphing_tooltip(),
            data=S.latency,
            width="100%",
            height=200,
        ),
        rx.text(
            "No checks yet: the first one runs within a minute of the first deploy.",
            size="2",
            color_scheme="gray",
        ),
    )
    return section(
        rx.hstack(
            rx.heading("Health", size="4"),
            status_badge(h["state"], id="health-state"),
            rx.text(h["every"], " · ", h["auto_rollback"], size="1", color_scheme="gray"),
            rx.spacer(),
            rx.button(
                rx.icon("activity", size=14),
                "Check now",
                size="1",
                variant="soft",
                loading=S.checking,
                on_click=S.check_now,
                id="check-now",
            ),
            align="center",
            width="100%",
            wrap="wrap",
        ),
        rx.flex(
            stat("Uptime 24 h", h["uptime_24h"], id="uptime-24h"),
            stat("Uptime 7 d", h["uptime_7d"], id="uptime-7d"),
            stat("Last check", h["last"], size="2"),
            stat("Result", h["last_result"], size="2"),
            spacing="6",
            wrap="wrap",
        ),
        rx.box(chart, width="100%"),
        rx.heading("Incidents", size="3"),
        data_table(
            ("Started", "Ended", "State", "Cause", ""),
            S.incidents,
            incident_row,
            size="1",
            id="incidents-table",
            empty=rx.text("No incidents.", size="2", color_scheme="gray"),
        ),
    )


def delivery_row(d: dict) -> rx.Component:
    return rx.table.row(
        rx.table.cell(rx.text(d["at"], size="1", white_space="nowrap")),
        rx.table.cell(d["provider"]),
        rx.table.cell(d["event"]),
        rx.table.cell(d["ref"]),
        rx.table.cell(rx.code(d["commit"], variant="ghost", size="1")),
        rx.table.cell(
            rx.badge(
                d["outcome"],
                color_scheme=rx.match(
                    d["outcome"], ("queued", "green"), ("rejected", "red"), "gray"
                ),
                variant="soft",
            )
        ),
        rx.table.cell(d["status"]),
        rx.table.cell(
            rx.cond(
                d["deployment"] != "",
                rx.link(d["detail"], href="/deployments/" + d["deployment"], size="1"),
                rx.text(d["detail"], size="1", color_scheme="gray"),
            )
        ),
        align="center",
    )


def deliveries_card() -> rx.Component:
    return section(
        rx.hstack(
            rx.heading("Webhook deliveries", size="4"),
            rx.code(S.health["hook"], variant="ghost"),
            align="center",
            wrap="wrap",
        ),
        rx.text(
            "Point a GitHub, GitLab or Gitea/Forgejo push webhook at this path on the panel; "
            "the secret: `rxpanel app webhook ",
            S.app["name"],
            "`.",
            size="1",
            color_scheme="gray",
        ),
        data_table(
            ("When", "Host", "Event", "Ref", "Commit", "Outcome", "HTTP", "Detail"),
            S.deliveries,
            delivery_row,
            size="1",
            id="deliveries-table",
            empty=rx.text("No deliveries yet.", size="2", color_scheme="gray"),
        ),
    )
