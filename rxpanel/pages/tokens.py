"""API tokens: for the HTTP API and the remote CLI. Everyone manages their own;
admins see everyone's."""

from __future__ import annotations

import reflex as rx

from rxpanel import routes
from rxpanel.components.badges import status_badge
from rxpanel.components.forms import confirm, field, form_dialog, labelled
from rxpanel.components.layout import page_header
from rxpanel.components.tables import data_table, empty_callout
from rxpanel.pages.registry import page
from rxpanel.state.tokens import TokensState as S

HEADERS = ("Name", "Token", "Scope", "Expires", "Last used", "Status", "")


def token_row(row: dict) -> rx.Component:
    return rx.table.row(
        rx.cond(S.is_admin, rx.table.cell(rx.text(row["owner"], weight="medium"))),
        rx.table.row_header_cell(rx.text(row["name"], weight="bold")),
        rx.table.cell(rx.code(row["prefix"], "…", variant="ghost")),
        rx.table.cell(rx.badge(row["scope"], variant="outline")),
        rx.table.cell(rx.text(row["expires"], size="1", white_space="nowrap")),
        rx.table.cell(rx.text(row["last_used"], size="1", white_space="nowrap")),
        rx.table.cell(
            rx.hstack(
                status_badge(row["state"]),
                rx.text(row["revoked"], size="1", color_scheme="gray", white_space="nowrap"),
                align="center",
            )
        ),
        rx.table.cell(
            rx.cond(
                row["state"] == "active",
                confirm(
                    rx.button(
                        "Revoke",
                        size="1",
                        variant="soft",
                        color_scheme="red",
                        class_name="revoke-token",
                        id="revoke-" + row["id"],
                    ),
                    "Revoke this token?",
                    "Scripts using "
                    + row["prefix"]
                    + "… ("
                    + row["name"]
                    + ") stop working at once. This cannot be undone.",
                    "Revoke",
                    S.revoke(row["id"]),
                ),
            )
        ),
        align="center",
        class_name="token-row",
    )


def new_dialog() -> rx.Component:
    return form_dialog(
        "New API token",
        field(
            "Name",
            "token_name",
            required=True,
            placeholder="ci-deploys",
            hint="what uses it, to tell tokens apart",
        ),
        labelled(
            "Scope",
            rx.select(
                S.scopes, name="scope", default_value="read", position="popper", id="field-scope"
            ),
            "read: look · deploy: deploy and roll back · admin: everything; "
            "never more than your role (",
            S.role,
            ")",
        ),
        field(
            "Expires after (days)",
            "expires_days",
            kind="number",
            placeholder="never",
            hint="empty: no expiry; at most 3650",
            min="1",
            max="3650",
        ),
        error=S.new_error,
        submit="Issue token",
        submit_id="issue-token",
        on_submit=S.issue,
        form_id="token-form",
        is_open=S.new_open,
        on_open_change=S.set_new_open,
        max_width="30em",
    )


def issued_dialog() -> rx.Component:
    """The new token, once: copy it now, it is not stored."""
    return rx.dialog.root(
        rx.dialog.content(
            rx.dialog.title("Token ", S.issued_name, " issued"),
            rx.vstack(
                rx.callout(
                    "Copy it now: it is shown once; it is not stored, and nobody can show it "
                    "again. Lost it? Revoke it and issue a new one.",
                    icon="triangle_alert",
                    color_scheme="amber",
                    width="100%",
                    id="token-once",
                ),
                rx.hstack(
                    rx.code(S.issued, size="3", word_break="break-all", id="issued-token"),
                    rx.icon_button(
                        rx.icon("copy", size=16),
                        variant="soft",
                        on_click=rx.set_clipboard(S.issued),
                        title="Copy",
                        id="copy-token",
                    ),
                    align="center",
                    width="100%",
                ),
                rx.text(
                    "Use it as ",
                    rx.code("Authorization: Bearer <token>"),
                    " for the HTTP API, or as RXPANEL_TOKEN for the remote CLI.",
                    size="2",
                    color_scheme="gray",
                ),
                rx.hstack(
                    rx.dialog.close(rx.button("Done", id="token-done")),
                    justify="end",
                    width="100%",
                ),
                spacing="3",
                margin_top="0.5em",
            ),
            max_width="36em",
        ),
        open=S.issued != "",
        on_open_change=S.close_issued,
    )


@page(routes.TOKENS, "API tokens", on_load=S.load)
def tokens_page() -> rx.Component:
    return rx.vstack(
        page_header(
            "API tokens",
            rx.button(rx.icon("key-round"), "New token", on_click=S.open_new, id="new-token"),
        ),
        rx.text(
            "For scripts and the remote CLI. A token never allows more than its owner's role, "
            "and stops working when its owner is disabled.",
            rx.cond(S.is_admin, " As an admin you see everyone's tokens.", ""),
            size="2",
            color_scheme="gray",
        ),
        data_table(
            (rx.cond(S.is_admin, rx.table.column_header_cell("Owner")), *HEADERS),
            S.rows,
            token_row,
            variant="surface",
            id="tokens-table",
            empty=empty_callout("No tokens yet.", id="no-tokens"),
        ),
        new_dialog(),
        issued_dialog(),
        spacing="4",
        width="100%",
    )
