"""The app page's "Database snapshots": the SQLite copies taken before each
migration on the primary server, each with a Restore behind a confirm dialog."""

from __future__ import annotations

import reflex as rx

from rxpanel.components.layout import section
from rxpanel.components.tables import data_table
from rxpanel.state.app_snapshots import SnapshotsState as S


def snapshot_row(s: dict) -> rx.Component:
    return rx.table.row(
        rx.table.cell(rx.code(s["release"], variant="ghost", size="1", white_space="nowrap")),
        rx.table.cell(rx.text(s["taken"], size="1", white_space="nowrap")),
        rx.table.cell(rx.code(s["file"], variant="ghost", size="1")),
        rx.table.cell(
            rx.cond(
                S.can_deploy,
                rx.button(
                    rx.icon("history", size=14),
                    "Restore",
                    size="1",
                    variant="soft",
                    color_scheme="red",
                    on_click=S.ask_restore(s["name"]),
                    disabled=S.restoring,
                    class_name="restore-button",
                ),
            )
        ),
        align="center",
    )


def snapshots_card() -> rx.Component:
    title = rx.hstack(
        rx.heading("Database snapshots", size="4"),
        rx.cond(S.server != "", rx.text("on ", S.server, size="2", color_scheme="gray")),
        rx.spacer(),
        rx.button(
            rx.icon("refresh-cw", size=14),
            rx.cond(S.loaded, "Refresh", "List"),
            size="1",
            variant="ghost",
            on_click=S.load,
            loading=S.listing,
            id="snapshots-refresh",
        ),
        align="center",
        width="100%",
    )
    return section(
        title,
        rx.cond(
            S.error != "",
            rx.callout(S.error, icon="triangle_alert", color_scheme="red", size="1", width="100%"),
        ),
        rx.cond(
            S.note != "",
            rx.callout(S.note, icon="database", color_scheme="gray", size="1", width="100%"),
        ),
        rx.cond(
            S.restoring,
            rx.callout(
                "Restoring: the app lock is held; deploys wait until it is done.",
                icon="loader",
                size="1",
                width="100%",
            ),
        ),
        rx.cond(
            S.result != "",
            rx.text(S.result, size="2", id="restore-result"),
        ),
        rx.cond(
            ~S.loaded & ~S.listing,
            rx.text(
                "The copies of the app's SQLite files taken before each migration, on its "
                "primary server: List asks the server.",
                color_scheme="gray",
                size="2",
            ),
        ),
        rx.cond(
            S.loaded & (S.snapshots.length() == 0) & (S.note == "") & (S.error == "") & ~S.listing,
            rx.text(
                "No snapshot yet: one is taken of each SQLite file before each migration "
                "(the newest 5 are kept).",
                color_scheme="gray",
                size="2",
            ),
        ),
        data_table(
            ("Before release", "Taken", "File", ""),
            S.snapshots,
            snapshot_row,
            size="1",
            id="snapshots-table",
            hide_empty=True,
        ),
        restore_dialog(),
        on_mount=S.forget,
        id="snapshots-card",
    )


def restore_dialog() -> rx.Component:
    c = S.confirm
    return rx.alert_dialog.root(
        rx.alert_dialog.content(
            rx.alert_dialog.title("Restore this snapshot?"),
            rx.alert_dialog.description(
                "The running app's database ",
                rx.code(c["file"]),
                " on ",
                rx.text.strong(S.server),
                " is replaced by the copy taken ",
                c["taken"],
                " before release ",
                rx.code(c["release"]),
                " migrated it. What the app wrote since is lost. The app keeps running and "
                "reads the restored data at its next query; a deploy waits until it is done.",
            ),
            rx.flex(
                rx.alert_dialog.cancel(rx.button("Cancel", variant="soft", color_scheme="gray")),
                rx.alert_dialog.action(
                    rx.button(
                        "Restore", color_scheme="red", on_click=S.restore, id="confirm-restore"
                    )
                ),
                spacing="3",
                justify="end",
                margin_top="1em",
            ),
        ),
        open=c.contains("name"),
        on_open_change=S.close_restore,
    )
