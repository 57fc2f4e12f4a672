"""The app page's doctor section: `rxpanel doctor` at the press of a button."""

from __future__ import annotations

import reflex as rx

from rxpanel.components.badges import status_badge
from rxpanel.components.layout import section
from rxpanel.components.tables import data_table
from rxpanel.state.app_detail import AppDetailState as S


def finding_row(f: dict) -> rx.Component:
    return rx.table.row(
        rx.table.cell(status_badge(f["level"])),
        rx.table.cell(rx.code(f["check"], variant="ghost", size="1", white_space="nowrap")),
        rx.table.cell(rx.text(f["message"], size="1")),
        align="center",
        class_name="doctor-finding",
    )


def doctor_card() -> rx.Component:
    return section(
        rx.hstack(
            rx.heading("Doctor", size="4"),
            rx.text(S.doctor_summary, size="2", color_scheme="gray", id="doctor-summary"),
            rx.spacer(),
            rx.button(
                rx.icon("stethoscope", size=14),
                "Run doctor",
                size="1",
                variant="soft",
                on_click=S.run_doctor,
                loading=S.doctoring,
                id="run-doctor",
            ),
            align="center",
            width="100%",
        ),
        rx.cond(
            S.doctor.length() == 0,
            rx.text(
                "Checks the last checkout of the source and the app's settings for what "
                "breaks builds and runs (env names, SQLite paths, setters, reflex[db], "
                "workers, paths, migrations, system packages), and asks the health path. "
                "Every build runs the same checks first and logs what they find.",
                size="2",
                color_scheme="gray",
            ),
        ),
        data_table(
            ("", "Check", "Finding"),
            S.doctor,
            finding_row,
            size="1",
            id="doctor-table",
            hide_empty=True,
        ),
    )
