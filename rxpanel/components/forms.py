"""Form pieces: labelled fields, the dialog a form lives in, and a confirm dialog."""

from __future__ import annotations

import reflex as rx


def labelled(label: str, control: rx.Component, *hint) -> rx.Component:
    """A form control under its label, with an optional hint (text parts) below."""
    return rx.vstack(
        rx.text(label, size="2", weight="medium"),
        control,
        *([rx.text(*hint, size="1", color_scheme="gray")] if hint else []),
        spacing="1",
        width="100%",
    )


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
    control = rx.input(
        name=name,
        default_value=default,
        type=kind,
        placeholder=placeholder,
        required=required,
        width="100%",
        id=f"field-{name}",
        **props,
    )
    return labelled(label, control, *([hint] if hint else []))


def field_grid(*fields: rx.Component, initial: str = "1", sm: str = "2") -> rx.Component:
    """Fields side by side: `initial` columns on a phone, `sm` from a small screen up."""
    return rx.grid(
        *fields,
        columns=rx.breakpoints(initial=initial, sm=sm),
        spacing="3",
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


def dialog_actions(submit: str, submit_id: str) -> rx.Component:
    """A form dialog's buttons: Cancel closes it, `submit` submits the form."""
    return rx.hstack(
        rx.dialog.close(rx.button("Cancel", variant="soft", color_scheme="gray", type="button")),
        rx.button(submit, type="submit", id=submit_id),
        justify="end",
        width="100%",
    )


def form_dialog(
    title,
    *fields: rx.Component,
    error,
    submit: str,
    submit_id: str,
    on_submit,
    form_id: str,
    is_open,
    on_open_change,
    max_width: str,
    description: rx.Component | None = None,
    **stack_props,
) -> rx.Component:
    """A dialog holding one form: its fields, the form's error, Cancel and `submit`.
    `title` is a text, a Var, or a tuple of them; the form keeps what was typed
    when the handler refuses it."""
    return rx.dialog.root(
        rx.dialog.content(
            rx.dialog.title(*(title if isinstance(title, tuple) else (title,))),
            *([description] if description is not None else []),
            rx.form(
                rx.vstack(
                    *fields,
                    error_callout(error),
                    dialog_actions(submit, submit_id),
                    spacing="3",
                    **stack_props,
                ),
                on_submit=on_submit,
                reset_on_submit=False,
                id=form_id,
            ),
            max_width=max_width,
        ),
        open=is_open,
        on_open_change=on_open_change,
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
