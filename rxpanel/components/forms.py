"""Form pieces: labelled fields and a confirm dialog."""

from __future__ import annotations

import reflex as rx


def field(
    label: str,
    name: str,
    default=None,
    *,
    kind: str = "text",
    hint: str = "",
    placeholder: str = "",
    required: bool = False,
    **props,
) -> rx.Component:
    return rx.vstack(
        rx.text(label, size="2", weight="medium"),
        rx.input(
            name=name,
            default_value=default,
            type=kind,
            placeholder=placeholder,
            required=required,
            width="100%",
            id=f"field-{name}",
            **props,
        ),
        rx.cond(hint != "", rx.text(hint, size="1", color_scheme="gray")),
        spacing="1",
        width="100%",
    )


def error_callout(message) -> rx.Component:
    return rx.cond(
        message != "",
        rx.callout(
            message,
            icon="triangle_alert",
            color_scheme="red",
            width="100%",
            class_name="form-error",
        ),
    )


def confirm(
    trigger: rx.Component, title: str, description, action: str, on_confirm, color: str = "red"
) -> rx.Component:
    return rx.alert_dialog.root(
        rx.alert_dialog.trigger(trigger),
        rx.alert_dialog.content(
            rx.alert_dialog.title(title),
            rx.alert_dialog.description(description),
            rx.flex(
                rx.alert_dialog.cancel(rx.button("Cancel", variant="soft", color_scheme="gray")),
                rx.alert_dialog.action(rx.button(action, color_scheme=color, on_click=on_confirm)),
                spacing="3",
                justify="end",
                margin_top="1em",
            ),
        ),
    )
