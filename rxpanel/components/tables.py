"""Tables: a header of column names, one row per item; and what shows instead
when there are no items."""

from __future__ import annotations

import reflex as rx


def plain_table(headers, rows, row_fn, **props) -> rx.Component:
    """A table of `rows`, each drawn by `row_fn`. A header is a column name, or
    a component (e.g. a column shown under a cond) used as it is."""
    cells = [h if isinstance(h, rx.Component) else rx.table.column_header_cell(h) for h in headers]
    return rx.table.root(
        rx.table.header(rx.table.row(*cells)),
        rx.table.body(rx.foreach(rows, row_fn)),
        **props,
    )


def data_table(
    headers, rows, row_fn, *, empty: rx.Component | None = None, hide_empty=False, **props
) -> rx.Component:
    """A full-width table that scrolls sideways on a narrow screen. With `empty`,
    that shows instead of the table when there are no rows; with `hide_empty`,
    the table stays in the page but is hidden while there are none."""
    box = rx.box(
        plain_table(headers, rows, row_fn, width="100%", **props),
        overflow_x="auto",
        width="100%",
        **({"display": rx.cond(rows.length() > 0, "block", "none")} if hide_empty else {}),
    )
    return box if empty is None else rx.cond(rows.length() > 0, box, empty)


def empty_callout(message: str, **props) -> rx.Component:
    """What a page shows where its table would be, while it has no rows."""
    return rx.callout(message, icon="info", width="100%", **props)
