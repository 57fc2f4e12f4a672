"""The audit log (admins only): who did what, to what, from where, how it ended."""

from __future__ import annotations

import reflex as rx

from rxpanel import routes
from rxpanel.components.badges import status_badge
from rxpanel.components.layout import admins_only, page_header
from rxpanel.components.tables import data_table, empty_callout
from rxpanel.pages.registry import page
from rxpanel.state.audit import OUTCOMES
from rxpanel.state.audit import AuditState as S

HEADERS = ("Time", "Actor", "Action", "Target", "Outcome", "Address", "Detail")


def audit_row(row: dict) -> rx.Component:
    return rx.table.row(
        rx.table.cell(rx.text(row["at"], size="1", white_space="nowrap")),
        rx.table.cell(rx.text(row["actor"], weight="medium")),
        rx.table.cell(rx.code(row["action"], variant="ghost", white_space="nowrap")),
        rx.table.cell(rx.text(row["target"], size="2")),
        rx.table.cell(status_badge(row["outcome"])),
        rx.table.cell(rx.text(row["address"], size="1", font_family="monospace")),
        rx.table.cell(rx.text(row["detail"], size="1", color_scheme="gray", min_width="14em")),
        align="center",
        class_name="audit-row",
    )


def _filter(label: str, name: str, placeholder: str) -> rx.Component:
    return rx.vstack(
        rx.text(label, size="1", color_scheme="gray"),
        rx.input(
            name=name,
            placeholder=placeholder,
            size="2",
            width="100%",
            id=f"filter-{name}",
        ),
        spacing="1",
        width=["100%", "14em"],
    )


def filters() -> rx.Component:
    return rx.form(
        rx.flex(
            _filter("Actor contains", "actor", "ada"),
            _filter("Action starts with", "action", "user."),
            _filter("Target contains", "target", "app:web"),
            rx.vstack(
                rx.text("Outcome", size="1", color_scheme="gray"),
                rx.select(list(OUTCOMES), name="outcome", default_value="any", id="filter-outcome"),
                spacing="1",
            ),
            rx.button(rx.icon("filter", size=14), "Filter", type="submit", id="audit-filter"),
            rx.button(
                "Clear",
                type="button",
                variant="soft",
                color_scheme="gray",
                on_click=S.clear,
                id="audit-clear",
            ),
            spacing="3",
            align="end",
            wrap="wrap",
            width="100%",
        ),
        on_submit=S.apply,
        reset_on_submit=False,
        key=S.form_key,
        id="audit-filters",
        width="100%",
    )


@page(routes.AUDIT, "Audit log", on_load=S.load)
def audit_page() -> rx.Component:
    return admins_only(
        rx.vstack(
            page_header("Audit log"),
            rx.text(
                "Every change and action in the panel, the CLI, the API and webhooks, newest "
                "first. It is append-only.",
                size="2",
                color_scheme="gray",
            ),
            filters(),
            data_table(
                HEADERS,
                S.rows,
                audit_row,
                size="1",
                variant="surface",
                id="audit-table",
                empty=empty_callout("No entries match.", id="audit-empty"),
            ),
            rx.hstack(
                rx.text(
                    "Showing ",
                    S.rows.length(),
                    " entries",
                    size="2",
                    color_scheme="gray",
                    id="audit-count",
                ),
                rx.cond(
                    S.more,
                    rx.button(
                        "Load more",
                        variant="soft",
                        on_click=S.load_more,
                        id="load-more",
                    ),
                ),
                align="center",
                spacing="3",
            ),
            spacing="4",
            width="100%",
        )
    )
