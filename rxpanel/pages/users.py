"""Users (admins only): who may use the panel, with which role."""

from __future__ import annotations

import reflex as rx

from rxpanel import routes
from rxpanel.components.badges import status_badge
from rxpanel.components.forms import confirm, field, form_dialog, labelled
from rxpanel.components.layout import admins_only, page_header
from rxpanel.components.tables import data_table
from rxpanel.models import ROLES
from rxpanel.pages.registry import page
from rxpanel.state.users import UsersState as S

ROLE_HINT = "admin: everything · deployer: deploy and roll back, add apps · viewer: look only"


def role_select(**props) -> rx.Component:
    return rx.select(list(ROLES), **props)


def user_row(row: dict) -> rx.Component:
    name = row["name"]
    return rx.table.row(
        rx.table.row_header_cell(
            rx.hstack(
                rx.text(name, weight="bold"),
                rx.cond(name == S.username, rx.badge("you", size="1", variant="outline")),
                align="center",
            )
        ),
        rx.table.cell(
            role_select(
                value=row["role"],
                on_change=S.change_role(name),
                size="1",
                id="role-" + name,
            )
        ),
        rx.table.cell(status_badge(row["status"], id="status-" + name)),
        rx.table.cell(rx.text(row["last_login"], size="1", white_space="nowrap")),
        rx.table.cell(
            rx.hstack(
                rx.cond(
                    row["status"] == "enabled",
                    confirm(
                        rx.button(
                            "Disable",
                            size="1",
                            variant="soft",
                            color_scheme="red",
                            id="disable-" + name,
                        ),
                        "Disable this user?",
                        name
                        + " can no longer log in or use API tokens; their open sessions end now.",
                        "Disable",
                        S.disable(name),
                    ),
                    confirm(
                        rx.button("Enable", size="1", variant="soft", id="enable-" + name),
                        "Enable this user?",
                        name + " can log in again with their password.",
                        "Enable",
                        S.enable(name),
                        color="green",
                    ),
                ),
                rx.button(
                    "Reset password",
                    size="1",
                    variant="soft",
                    color_scheme="gray",
                    on_click=S.open_reset(name),
                    id="reset-" + name,
                ),
                spacing="2",
            )
        ),
        align="center",
    )


def add_dialog() -> rx.Component:
    return form_dialog(
        "Add a user",
        field(
            "User name",
            "username",
            required=True,
            hint="2-64 of a-z 0-9 . _ @ + -",
            auto_complete="off",
        ),
        field(
            "Initial password",
            "initial_password",
            kind="password",
            required=True,
            hint="at least 8 characters; they can change it from the user menu",
            auto_complete="new-password",
        ),
        labelled(
            "Role",
            role_select(name="role", default_value="viewer", position="popper", id="field-role"),
            ROLE_HINT,
        ),
        error=S.add_error,
        submit="Add user",
        submit_id="save-user",
        on_submit=S.add,
        form_id="user-form",
        is_open=S.add_open,
        on_open_change=S.set_add_open,
        max_width="30em",
    )


def reset_dialog() -> rx.Component:
    return form_dialog(
        ("Reset the password of ", S.reset_user),
        field(
            "New password",
            "reset_password",
            kind="password",
            required=True,
            auto_complete="new-password",
        ),
        field(
            "New password again",
            "reset_confirm",
            kind="password",
            required=True,
            auto_complete="new-password",
        ),
        description=rx.dialog.description(
            "Give them the new password by a safe channel; they can change it from the user menu.",
            size="2",
            color_scheme="gray",
        ),
        error=S.reset_error,
        submit="Reset password",
        submit_id="save-reset",
        on_submit=S.reset_password,
        form_id="reset-form",
        is_open=S.reset_user != "",
        on_open_change=S.close_reset,
        max_width="28em",
        margin_top="1em",
    )


@page(routes.USERS, "Users", on_load=S.load)
def users_page() -> rx.Component:
    return admins_only(
        rx.vstack(
            page_header(
                "Users",
                rx.button(rx.icon("user-plus"), "Add user", on_click=S.open_add, id="add-user"),
            ),
            rx.text(ROLE_HINT, size="2", color_scheme="gray"),
            rx.cond(
                S.error != "",
                rx.callout(
                    S.error,
                    icon="triangle_alert",
                    color_scheme="red",
                    width="100%",
                    id="users-error",
                ),
            ),
            data_table(
                ("User", "Role", "Status", "Last login", ""),
                S.rows,
                user_row,
                variant="surface",
                id="users-table",
            ),
            add_dialog(),
            reset_dialog(),
            spacing="4",
            width="100%",
        )
    )
