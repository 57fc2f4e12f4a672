"""One app: deploy, watch it live, history, releases and rollback."""

from __future__ import annotations

import reflex as rx

from rxpanel import routes
from rxpanel.components.badges import status_badge
from rxpanel.components.layout import page_header, section
from rxpanel.components.log_view import log_view, step_chips
from rxpanel.components.tables import data_table
from rxpanel.pages import page
from rxpanel.state.app_detail import AppDetailState as S


def info(label: str, value) -> rx.Component:
    return rx.vstack(
        rx.text(label, size="1", color_scheme="gray"),
        rx.text(
            rx.cond(value != "", value, "—"),
            size="2",
            weight="medium",
            font_family="monospace",
        ),
        spacing="0",
    )


def header() -> rx.Component:
    a = S.app
    return rx.vstack(
        page_header(
            a["name"],
            rx.link(a["url"], href=a["url"], is_external=True),
            badge=status_badge(a["status"], id="app-status"),
            wrap="wrap",
        ),
        rx.flex(
            info("Server", a["server"]),
            info("Source", a["source"]),
            info("Branch", a["branch"]),
            info("Release", a["release"]),
            info("Commit", a["commit"]),
            info("Colour", a["color"]),
            info("Health", a["health"]),
            wrap="wrap",
            spacing="5",
        ),
        spacing="3",
        width="100%",
    )


def deploy_card() -> rx.Component:
    """Deployers and admins deploy here; a viewer sees the card disabled, and why
    (the handler refuses a viewer anyway, and records the attempt)."""
    return rx.card(
        rx.form(
            rx.vstack(
                rx.hstack(
                    rx.input(
                        name="ref",
                        placeholder="branch head, or a branch / tag / commit",
                        width="22em",
                        max_width="60vw",
                        disabled=~S.can_deploy,
                        id="deploy-ref",
                    ),
                    rx.button(
                        rx.icon("rocket", size=16),
                        "Deploy",
                        type="submit",
                        id="deploy",
                        disabled=~S.can_deploy,
                        loading=S.follow["status"] == "running",
                    ),
                    align="center",
                    wrap="wrap",
                ),
                rx.cond(
                    S.can_deploy,
                    rx.fragment(),
                    rx.hstack(
                        rx.icon("lock", size=14, color=rx.color("gray", 10)),
                        rx.text(
                            "Your role is viewer: viewers cannot deploy. "
                            "Ask an admin for the deployer role.",
                            size="2",
                            color_scheme="gray",
                            id="deploy-note",
                        ),
                        align="center",
                        spacing="2",
                    ),
                ),
                spacing="2",
            ),
            on_submit=S.deploy,
            reset_on_submit=True,
        ),
        width="100%",
    )


def live_card() -> rx.Component:
    d = S.follow
    return rx.cond(
        d.contains("id"),
        section(
            rx.hstack(
                rx.link(
                    rx.heading("Deployment #", d["id"], size="4"),
                    href="/deployments/" + d["id"],
                    id="live-deployment",
                ),
                status_badge(d["status"], id="live-status"),
                rx.text(
                    d["kind"],
                    " · ",
                    d["trigger"],
                    " by ",
                    d["by"],
                    " · ",
                    d["duration"],
                    size="2",
                    color_scheme="gray",
                    id="live-trigger",
                ),
                align="center",
                wrap="wrap",
            ),
            step_chips(S.steps),
            rx.cond(
                d["reason"] != "",
                rx.callout(
                    d["reason"],
                    icon=rx.cond(d["status"] == "success", "circle_check", "info"),
                    color_scheme=rx.cond(
                        d["status"] == "success",
                        "green",
                        rx.cond(d["status"] == "failed", "red", "gray"),
                    ),
                    size="1",
                    width="100%",
                    id="live-reason",
                ),
            ),
            log_view(S.lines, id="live-log"),
        ),
        rx.card(
            rx.text(
                "No deployment yet. Press Deploy to build and ship the branch head.",
                color_scheme="gray",
            ),
            width="100%",
        ),
    )


def release_row(r: dict) -> rx.Component:
    return rx.table.row(
        rx.table.cell(
            rx.hstack(
                rx.code(r["id"], variant="ghost", size="1", white_space="nowrap"),
                rx.cond(r["current"] == "yes", rx.badge("current", size="1")),
            )
        ),
        rx.table.cell(status_badge(r["status"])),
        rx.table.cell(rx.code(r["commit"], variant="ghost", size="1")),
        rx.table.cell(rx.text(r["live_at"], size="1")),
        rx.table.cell(rx.text(r["reason"], size="1", color_scheme="gray")),
        rx.table.cell(
            rx.cond(
                (r["can_rollback"] == "yes") & S.can_deploy,
                rx.button(
                    rx.icon("undo-2", size=14),
                    "Roll back",
                    size="1",
                    variant="soft",
                    color_scheme="orange",
                    on_click=S.ask_rollback(r["id"]),
                    class_name="rollback-button",
                    id="rollback-" + r["id"],
                ),
            )
        ),
        align="center",
    )


def rollback_dialog() -> rx.Component:
    return rx.alert_dialog.root(
        rx.alert_dialog.content(
            rx.alert_dialog.title("Roll back?"),
            rx.alert_dialog.description(
                "Release ",
                rx.code(S.confirm_release),
                " comes back with its own env. No build, "
                "no upload: it starts on the idle colour (or is already warm there), must pass "
                "the health gate, then nginx switches to it.",
            ),
            rx.flex(
                rx.alert_dialog.cancel(rx.button("Cancel", variant="soft", color_scheme="gray")),
                rx.alert_dialog.action(
                    rx.button(
                        "Roll back",
                        color_scheme="orange",
                        on_click=S.rollback,
                        id="confirm-rollback",
                    )
                ),
                spacing="3",
                justify="end",
                margin_top="1em",
            ),
        ),
        open=S.confirm_release != "",
        on_open_change=S.close_rollback,
    )


def releases_card() -> rx.Component:
    return section(
        "Releases",
        rx.cond(
            S.releases.length() == 0,
            rx.text("No release yet: the first deploy makes one.", color_scheme="gray"),
        ),
        data_table(
            ("Release", "Status", "Commit", "Last live", "Note", ""),
            S.releases,
            release_row,
            size="1",
            id="releases-table",
            hide_empty=True,
        ),
    )


def history_row(d: dict) -> rx.Component:
    return rx.table.row(
        rx.table.cell(rx.link("#", d["id"], href="/deployments/" + d["id"])),
        rx.table.cell(d["kind"]),
        rx.table.cell(status_badge(d["status"])),
        rx.table.cell(rx.text(d["trigger"], " · ", d["by"], size="1")),
        rx.table.cell(rx.code(d["commit"], variant="ghost", size="1")),
        rx.table.cell(rx.text(d["age"], size="1")),
        rx.table.cell(rx.text(d["duration"], size="1")),
        rx.table.cell(rx.text(d["reason"], size="1", color_scheme="gray", min_width="18em")),
        align="center",
    )


def history_card() -> rx.Component:
    return section(
        "Deployments",
        rx.cond(S.history.length() == 0, rx.text("No deployments yet.", color_scheme="gray")),
        data_table(
            ("#", "Kind", "Status", "Trigger", "Commit", "When", "Took", "Outcome"),
            S.history,
            history_row,
            size="1",
            id="history-table",
            hide_empty=True,
        ),
    )


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


@page(routes.APP, "App", on_load=S.load)
def app_page() -> rx.Component:
    return rx.cond(
        S.missing != "",
        rx.callout(S.missing, icon="triangle_alert", color_scheme="red"),
        rx.vstack(
            header(),
            deploy_card(),
            live_card(),
            releases_card(),
            health_card(),
            history_card(),
            deliveries_card(),
            rollback_dialog(),
            spacing="4",
            width="100%",
        ),
    )
