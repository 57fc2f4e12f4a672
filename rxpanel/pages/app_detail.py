"""One app: deploy, watch it live, history, releases and rollback."""

from __future__ import annotations

import reflex as rx

from rxpanel import routes
from rxpanel.components.badges import status_badge
from rxpanel.components.layout import page_header, section
from rxpanel.components.log_view import log_view, step_chips
from rxpanel.components.tables import data_table
from rxpanel.pages.app_doctor import doctor_card
from rxpanel.pages.app_health import deliveries_card, health_card
from rxpanel.pages.app_snapshots import snapshots_card
from rxpanel.pages.registry import page
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
        deploy_key(),
        spacing="3",
        width="100%",
    )


def deploy_key() -> rx.Component:
    """The public half of the app's deploy key, to copy into the git host."""
    return rx.vstack(
        rx.text("Deploy key", size="1", color_scheme="gray"),
        rx.input(
            value=S.app["deploy_key"],
            read_only=True,
            id="deploy-key",
            size="1",
            width="100%",
            max_width="48em",
            font_family="monospace",
        ),
        rx.text(
            "Add this as a read-only deploy key on your git host: an ssh:// or "
            "git@host:path source is cloned with this key, and no other.",
            size="1",
            color_scheme="gray",
        ),
        spacing="1",
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
        rx.table.cell(
            rx.vstack(
                rx.text(r["reason"], size="1", color_scheme="gray"),
                rx.cond(
                    r["schema_note"] != "",
                    rx.badge(
                        rx.icon("database", size=12),
                        r["schema_note"],
                        color_scheme="amber",
                        size="1",
                        white_space="normal",
                        class_name="schema-note",
                    ),
                ),
                spacing="1",
            )
        ),
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
                "the health gate, then nginx switches to it. The database is not touched.",
            ),
            rx.cond(
                S.confirm_schema != "",
                rx.callout(
                    S.confirm_schema,
                    icon="database",
                    color_scheme="amber",
                    size="1",
                    margin_top="0.75em",
                    id="rollback-schema-note",
                ),
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
            snapshots_card(),
            health_card(),
            doctor_card(),
            history_card(),
            deliveries_card(),
            rollback_dialog(),
            spacing="4",
            width="100%",
        ),
    )
