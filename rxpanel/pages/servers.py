"""Servers: the SSH targets apps deploy to."""

from __future__ import annotations

import reflex as rx

from rxpanel import routes
from rxpanel.components.forms import confirm, field, field_grid, form_dialog
from rxpanel.components.layout import page_header, section
from rxpanel.components.tables import data_table, empty_callout
from rxpanel.pages.registry import page
from rxpanel.state.servers import ServersState


def server_row(row: dict) -> rx.Component:
    return rx.table.row(
        rx.table.row_header_cell(rx.text(row["name"], weight="bold")),
        rx.table.cell(
            rx.code(row["user"] + "@" + row["host"] + ":" + row["port"], variant="ghost")
        ),
        rx.table.cell(rx.code(row["deploy_root"], variant="ghost")),
        rx.table.cell(
            rx.text(row["host_key"], size="1", color_scheme="gray", font_family="monospace")
        ),
        rx.table.cell(row["apps"]),
        rx.table.cell(
            rx.hstack(
                rx.button(
                    rx.icon("stethoscope", size=14),
                    "Check",
                    size="1",
                    variant="soft",
                    loading=ServersState.checking == row["name"],
                    on_click=ServersState.check(row["name"]),
                    id="check-" + row["name"],
                ),
                rx.cond(
                    ServersState.is_admin,
                    rx.hstack(
                        rx.button(
                            "Edit",
                            size="1",
                            variant="soft",
                            color_scheme="gray",
                            on_click=ServersState.open_edit(row["name"]),
                        ),
                        confirm(
                            rx.button("Delete", size="1", variant="soft", color_scheme="red"),
                            "Delete this server?",
                            "The panel forgets the server; nothing on it is touched. "
                            "A server that apps use cannot be deleted.",
                            "Delete",
                            ServersState.delete(row["name"]),
                        ),
                    ),
                ),
                spacing="2",
            )
        ),
        align="center",
    )


def check_panel() -> rx.Component:
    return rx.cond(
        ServersState.checked_server != "",
        section(
            rx.hstack(
                rx.heading("Check of ", ServersState.checked_server, size="4"),
                rx.cond(ServersState.checking != "", rx.spinner()),
                align="center",
            ),
            rx.foreach(
                ServersState.check_items,
                lambda item: rx.hstack(
                    rx.cond(
                        item["ok"] == "yes",
                        rx.icon("circle_check", color="green", size=18),
                        rx.icon("circle_x", color="red", size=18),
                    ),
                    rx.text(item["label"], weight="medium"),
                    rx.text(item["detail"], size="2", color_scheme="gray"),
                    align="center",
                    class_name="check-item",
                ),
            ),
            spacing="2",
            id="check-panel",
        ),
    )


def server_dialog() -> rx.Component:
    f = ServersState.form
    return form_dialog(
        rx.cond(ServersState.editing != "", "Edit server", "Add a server"),
        field_grid(
            field(
                "Name",
                "name",
                f["name"],
                required=True,
                hint="lowercase letters, digits and -",
                read_only=ServersState.editing != "",
            ),
            field("Host", "host", f["host"], required=True, placeholder="203.0.113.7"),
            field("SSH port", "port", f["port"], kind="number"),
            field("SSH user", "user", f["user"]),
        ),
        rx.text("SSH private key", size="2", weight="medium"),
        rx.text_area(
            name="key_text",
            placeholder=rx.cond(
                ServersState.editing != "",
                "(unchanged: paste a new key to replace it)",
                "-----BEGIN OPENSSH PRIVATE KEY-----",
            ),
            rows="4",
            width="100%",
            font_family="monospace",
            id="field-key_text",
        ),
        field(
            "…or a key file on the panel host",
            "key_path",
            "",
            placeholder="/home/me/.ssh/id_ed25519",
            hint="read once and stored encrypted; never shown again",
        ),
        rx.hstack(
            rx.checkbox(name="sudo", default_checked=f["sudo"] == "on"),
            rx.text("Use sudo for nginx and supervisor", size="2"),
        ),
        field_grid(
            field("Deploy root", "deploy_root", f["deploy_root"]),
            field("nginx conf dir", "nginx_conf_dir", f["nginx_conf_dir"]),
            field("nginx command", "nginx_cmd", f["nginx_cmd"]),
            field("supervisor conf dir", "supervisor_conf_dir", f["supervisor_conf_dir"]),
            field("supervisorctl command", "supervisorctl_cmd", f["supervisorctl_cmd"]),
        ),
        error=ServersState.form_error,
        submit="Save",
        submit_id="save-server",
        on_submit=ServersState.save,
        form_id="server-form",
        is_open=ServersState.dialog_open,
        on_open_change=ServersState.set_dialog_open,
        max_width="44em",
    )


@page(routes.SERVERS, "Servers", on_load=ServersState.load)
def servers_page() -> rx.Component:
    return rx.vstack(
        page_header(
            "Servers",
            rx.button(
                rx.icon("plus"), "Add server", on_click=ServersState.open_add, id="add-server"
            ),
            when=ServersState.is_admin,
        ),
        data_table(
            ("Name", "Login", "Deploy root", "Host key", "Apps", ""),
            ServersState.rows,
            server_row,
            variant="surface",
            id="servers-table",
            empty=empty_callout(
                "No servers yet. Add one the panel can reach over SSH, or start a local "
                "sandbox with `rxpanel sandbox up DIR` and add the line it prints."
            ),
        ),
        check_panel(),
        server_dialog(),
        spacing="4",
        width="100%",
    )
