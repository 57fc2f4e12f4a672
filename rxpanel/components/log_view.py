"""A deployment's log and steps, as they are stored."""

from __future__ import annotations

import reflex as rx

from rxpanel.components.badges import status_badge
from rxpanel.components.tables import plain_table


def _line(row: dict) -> rx.Component:
    color = rx.match(
        row["level"],
        ("error", rx.color("red", 11)),
        ("warn", rx.color("orange", 11)),
        ("output", rx.color("gray", 11)),
        rx.color("gray", 12),
    )
    return rx.hstack(
        rx.text(row["time"], color=rx.color("gray", 9), flex_shrink="0"),
        rx.text(
            row["line"],
            color=color,
            white_space="pre-wrap",
            word_break="break-all",
            padding_left=rx.cond(row["level"] == "output", "1.5em", "0"),
        ),
        spacing="3",
        align="start",
        class_name="log-line",
    )


def log_view(lines, height: str = "28em", **props) -> rx.Component:
    return rx.auto_scroll(
        rx.cond(
            lines.length() > 0,
            rx.foreach(lines, _line),
            rx.text("No log lines yet.", color_scheme="gray"),
        ),
        font_family="var(--code-font-family, monospace)",
        font_size="0.8em",
        line_height="1.55",
        padding="0.75em",
        height=height,
        width="100%",
        border_radius="var(--radius-3)",
        background_color=rx.color("gray", 2),
        border=f"1px solid {rx.color('gray', 5)}",
        **props,
    )


def step_chips(steps) -> rx.Component:
    return rx.flex(
        rx.foreach(
            steps,
            lambda s: rx.badge(
                s["name"],
                " · ",
                s["duration"],
                color_scheme=rx.match(s["status"], ("ok", "green"), ("failed", "red"), "blue"),
                variant="soft",
                class_name="step-chip",
            ),
        ),
        wrap="wrap",
        spacing="2",
    )


def steps_table(steps) -> rx.Component:
    return plain_table(
        ("Step", "Status", "Duration"),
        steps,
        lambda s: rx.table.row(
            rx.table.cell(s["name"]),
            rx.table.cell(status_badge(s["status"])),
            rx.table.cell(s["duration"]),
        ),
        size="1",
        variant="surface",
    )
