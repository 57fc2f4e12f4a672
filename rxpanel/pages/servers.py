"""Servers: the SSH targets apps deploy to."""

from __future__ import annotations

import reflex as rx

from rxpanel import routes
from rxpanel.components.forms import confirm, error_callout, field
from rxpanel.pages import page
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
        rx.card(
            rx.vstack(
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
            ),
            width="100%",
            id="check-panel",
        ),
    )


def server_dialog() -> rx.Component:
    f = ServersState.form
    return rx.dialog.root(
        rx.dialog.content(
            rx.dialog.title(rx.cond(ServersState.editing != "", "Edit server", "Add a server")),
            rx.form(
                rx.vstack(
                    rx.grid(
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
                        columns=rx.breakpoints(initial="1", sm="2"),
                        spacing="3",
                        width="100%",
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
                    rx.grid(
                        field("Deploy root", "deploy_root", f["deploy_root"]),
                        field("nginx conf dir", "nginx_conf_dir", f["nginx_conf_dir"]),
                        field("nginx command", "nginx_cmd", f["nginx_cmd"]),
                        field(
                            "supervisor conf dir", "supervisor_conf_dir", f["supervisor_conf_dir"]
                        ),
                        field("supervisorctl command", "supervisorctl_cmd", f["supervisorctl_cmd"]),
                        columns=rx.breakpoints(initial="1", sm="2"),
                        spacing="3",
                        width="100%",
                    ),
                    error_callout(ServersState.form_error),
                    rx.hstack(
                        rx.dialog.close(
                            rx.button("Cancel", variant="soft", color_scheme="gray", type="button")
                        ),
                        rx.button("Save", type="submit", id="save-server"),
                        justify="end",
                        width="100%",
                    ),
                    spacing="3",
                ),
                on_submit=ServersState.save,
                reset_on_submit=False,
                id="server-form",
            ),
            max_width="44em",
        ),
        open=ServersState.dialog_open,
        on_open_change=ServersState.set_dialog_open,
    )


@page(routes.SERVERS, "Servers", on_load=ServersState.load)
def servers_page() -> rx.Component:
    return rx.vstack(
        rx.hstack(
            rx.heading("Servers", size="7"),
            rx.spacer(),
            rx.cond(
                ServersState.is_admin,
                rx.button(
                    rx.icon("plus"), "Add server", on_click=ServersState.open_add, id="add-server"
                ),
            ),
            width="100%",
            align="center",
        ),
        rx.cond(
            ServersState.rows.length() > 0,
            rx.box(
                rx.table.root(
                    rx.table.header(
                        rx.table.row(
                            *[
                                rx.table.column_header_cell(h)
                                for h in ("Name", "Login", "Deploy root", "Host key", "Apps", "")
                            ]
                        )
                    ),
                    rx.table.body(rx.foreach(ServersState.rows, server_row)),
                    variant="surface",
                    width="100%",
                    id="servers-table",
                ),
                overflow_x="auto",
                width="100%",
            ),
            rx.callout(
                "No servers yet. Add one the panel can reach over SSH, or start a local "
                "sandbox with `rxpanel sandbox up DIR` and add the line it prints.",
                icon="info",
                width="100%",
            ),
        ),
        check_panel(),
        server_dialog(),
        spacing="4",
        width="100%",
    )
