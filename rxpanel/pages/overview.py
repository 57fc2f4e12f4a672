"""Overview: every app with its live status; a first step for newcomers."""

from __future__ import annotations

import reflex as rx

from rxpanel import routes
from rxpanel.components.badges import status_badge
from rxpanel.components.layout import page_header
from rxpanel.components.tables import data_table
from rxpanel.pages.registry import page
from rxpanel.state.overview import OverviewState


def empty_state() -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.heading("Nothing deployed yet", size="5"),
            rx.cond(
                OverviewState.servers == 0,
                rx.text(
                    "Start by adding a server the panel can reach over SSH. No server at hand? "
                    "Run a local sandbox (sshd, nginx and supervisord on 127.0.0.1):"
                ),
                rx.text(
                    "You have a server. Now add an app: a Reflex project in a git "
                    "repository or a local directory, and the URL it will answer on."
                ),
            ),
            rx.cond(
                OverviewState.servers == 0,
                rx.code_block("rxpanel sandbox up /tmp/rx-sandbox", language="bash", width="100%"),
            ),
            rx.hstack(
                rx.link(
                    rx.button(
                        rx.icon("server"),
                        "Add a server",
                        variant=rx.cond(OverviewState.servers == 0, "solid", "soft"),
                    ),
                    href=routes.SERVERS,
                ),
                rx.link(
                    rx.button(
                        rx.icon("package-plus"),
                        "Add an app",
                        variant=rx.cond(OverviewState.servers == 0, "soft", "solid"),
                    ),
                    href=routes.APPS,
                ),
            ),
            spacing="3",
        ),
        id="empty-state",
        width="100%",
    )


def app_row(row: dict) -> rx.Component:
    return rx.table.row(
        rx.table.row_header_cell(rx.link(row["name"], href="/apps/" + row["name"], weight="bold")),
        rx.table.cell(status_badge(row["status"], id="status-" + row["name"])),
        rx.table.cell(
            rx.vstack(
                rx.code(row["release"], size="1", variant="ghost"),
                rx.text(row["commit"], size="1", color_scheme="gray", font_family="monospace"),
                spacing="0",
            )
        ),
        rx.table.cell(
            rx.cond(
                row["last_outcome"] != "",
                rx.link(
                    rx.hstack(
                        status_badge(row["last_outcome"]),
                        rx.text(row["last_age"], size="1", color_scheme="gray"),
                        align="center",
                    ),
                    href="/deployments/" + row["last_id"],
                    underline="none",
                ),
                rx.text("never", size="1", color_scheme="gray"),
            )
        ),
        rx.table.cell(row["server"]),
        rx.table.cell(rx.link(row["url"], href=row["url"], is_external=True, size="2")),
        align="center",
    )


@page(routes.OVERVIEW, "Overview", on_load=OverviewState.load)
def overview() -> rx.Component:
    return rx.vstack(
        page_header(
            "Overview",
            rx.link(rx.button(rx.icon("plus"), "Add app", variant="soft"), href=routes.APPS),
            when=OverviewState.can_deploy,
        ),
        data_table(
            ("App", "Status", "Release", "Last deploy", "Server", "URL"),
            OverviewState.rows,
            app_row,
            variant="surface",
            id="apps-table",
            empty=rx.cond(OverviewState.loaded, empty_state()),
        ),
        spacing="4",
        width="100%",
    )
