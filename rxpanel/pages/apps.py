"""Apps: what to deploy, where, and with which env (values write-only)."""

from __future__ import annotations

import reflex as rx

from rxpanel import routes
from rxpanel.components.forms import field, field_grid, form_dialog, labelled
from rxpanel.components.layout import page_header
from rxpanel.components.tables import data_table, empty_callout
from rxpanel.pages.registry import page
from rxpanel.state.apps import AppsState


def app_row(row: dict) -> rx.Component:
    return rx.table.row(
        rx.table.row_header_cell(rx.link(row["name"], href="/apps/" + row["name"], weight="bold")),
        rx.table.cell(row["server"]),
        rx.table.cell(
            rx.vstack(
                rx.text(row["source"], size="1", font_family="monospace"),
                rx.text("branch ", row["branch"], size="1", color_scheme="gray"),
                spacing="0",
            )
        ),
        rx.table.cell(rx.link(row["url"], href=row["url"], is_external=True, size="2")),
        rx.table.cell(rx.code(row["release"], variant="ghost", size="1")),
        rx.table.cell(row["env_count"]),
        rx.table.cell(
            rx.cond(
                AppsState.can_deploy,
                rx.button(
                    "Edit",
                    size="1",
                    variant="soft",
                    color_scheme="gray",
                    on_click=AppsState.open_edit(row["name"]),
                ),
            )
        ),
        align="center",
    )


def env_editor() -> rx.Component:
    saved = rx.foreach(
        AppsState.env_keys,
        lambda key: rx.hstack(
            rx.hstack(
                rx.code(key),
                rx.cond(
                    AppsState.build_keys.contains(key),
                    rx.badge(
                        "build",
                        size="1",
                        color_scheme="orange",
                        title="build-time: reflex export sees it, a change builds",
                    ),
                ),
                width="40%",
                align="center",
            ),
            rx.input(
                name="env_value__" + key,
                type="password",
                width="45%",
                placeholder="•••••• (unchanged)",
                auto_complete="new-password",
                disabled=AppsState.removed_keys.contains(key),
            ),
            rx.icon_button(
                rx.cond(
                    AppsState.removed_keys.contains(key), rx.icon("undo-2"), rx.icon("trash-2")
                ),
                type="button",
                size="1",
                variant="ghost",
                color_scheme="red",
                on_click=AppsState.toggle_remove_key(key),
            ),
            width="100%",
            align="center",
        ),
    )
    new = rx.foreach(
        AppsState.new_env_rows,
        lambda i: rx.hstack(
            rx.input(
                name="new_key_" + i.to_string(),
                placeholder="KEY",
                width="40%",
                id="env-key-" + i.to_string(),
            ),
            rx.input(
                name="new_value_" + i.to_string(),
                placeholder="value",
                type="password",
                width="45%",
                auto_complete="new-password",
                id="env-value-" + i.to_string(),
            ),
            width="100%",
        ),
    )
    return rx.vstack(
        rx.hstack(
            rx.text("Environment variables", size="2", weight="medium"),
            rx.spacer(),
            rx.button(
                rx.icon("plus", size=14),
                "Variable",
                type="button",
                size="1",
                variant="soft",
                on_click=AppsState.add_env_row,
            ),
            width="100%",
        ),
        rx.text(
            "Values are stored encrypted and never shown again; leave a saved one blank "
            "to keep it.",
            size="1",
            color_scheme="gray",
        ),
        saved,
        new,
        spacing="2",
        width="100%",
    )


HEALTH_HINTS = {
    "/ping": 'Liveness: the backend process answers "pong". Nothing else is asked.',
    "/_health": "Readiness: the backend and its database and Redis answer (503 when one "
    "does not; 500 when rxconfig.py has a db_url but the requirements lack reflex[db]).",
    "custom": "A route of the app's own (api_transformer); any 2xx answer is healthy.",
}


def health_check() -> rx.Component:
    """What the health gate and the scheduled checks ask: liveness, readiness or custom."""
    choice = AppsState.health_choice
    picker = rx.select.root(
        rx.select.trigger(width="100%", id="field-health-choice"),
        rx.select.content(
            rx.select.item("Liveness: /ping", value="/ping"),
            rx.select.item("Readiness: /_health", value="/_health"),
            rx.select.item("Custom path", value="custom"),
        ),
        name="health_choice",
        value=choice,
        on_change=AppsState.choose_health,
    )
    return field_grid(
        labelled(
            "Health check",
            picker,
            rx.match(choice, *HEALTH_HINTS.items(), ""),
        ),
        rx.cond(
            choice == "custom",
            field(
                "Custom health path",
                "health_custom",
                AppsState.form["health_path"],
                placeholder="/api/health",
                hint="starts with /; no spaces or quotes",
            ),
        ),
    )


def app_dialog() -> rx.Component:
    f = AppsState.form
    return form_dialog(
        rx.cond(AppsState.editing != "", "Edit app", "Add an app"),
        field_grid(
            field(
                "Name",
                "name",
                f["name"],
                required=True,
                read_only=AppsState.editing != "",
                hint="lowercase letters, digits and -",
            ),
            labelled(
                "Server",
                rx.select(
                    AppsState.server_names,
                    name="server",
                    default_value=f["server"],
                    width="100%",
                ),
            ),
        ),
        field(
            "Source: a git URL (https://, ssh://, git@host:path) or a directory under "
            "RXPANEL_SOURCE_ROOTS on the panel host",
            "source",
            f["source"],
            required=True,
            placeholder="git@github.com:you/app.git or https://github.com/you/app.git",
        ),
        field_grid(
            field("Branch", "branch", f["branch"]),
            field(
                "Public URL",
                "url",
                f["url"],
                required=True,
                placeholder="https://app.example.com",
                hint="nginx answers here; baked into the frontend",
            ),
        ),
        field_grid(
            field("Releases kept", "keep_releases", f["keep_releases"], kind="number"),
            field("Health timeout (s)", "health_timeout", f["health_timeout"], kind="number"),
            field("Warm standby (min)", "standby_minutes", f["standby_minutes"]),
            field("Stop drain (s)", "stop_drain", f["stop_drain"], kind="number"),
            initial="2",
            sm="4",
        ),
        field_grid(  # empty: the panel's defaults (RXPANEL_BUILD_MEMORY_MB...)
            *(
                field(label, name, f[name], kind="number", placeholder="panel default")
                for label, name in (
                    ("Build memory (MB)", "build_memory_mb"),
                    ("Build CPU time (s)", "build_cpu_seconds"),
                    ("Build step timeout (s)", "build_timeout"),
                )
            ),
            initial="2",
            sm="4",
        ),
        health_check(),
        field_grid(
            field("Check every (s)", "check_interval", f["check_interval"], kind="number"),
            field("Check timeout (s)", "check_timeout", f["check_timeout"]),
            field("Failures = down", "failure_threshold", f["failure_threshold"], kind="number"),
            field("Watch after deploy (min)", "watch_minutes", f["watch_minutes"]),
            initial="2",
            sm="4",
        ),
        rx.hstack(
            rx.checkbox(name="auto_rollback", default_checked=f["auto_rollback"] == "True"),
            rx.text(
                "Roll back by itself when it goes down within the watch window after a deploy",
                size="2",
            ),
        ),
        env_editor(),
        error=AppsState.form_error,
        submit="Save",
        submit_id="save-app",
        on_submit=AppsState.save,
        form_id="app-form",
        is_open=AppsState.dialog_open,
        on_open_change=AppsState.set_dialog_open,
        max_width="48em",
    )


@page(routes.APPS, "Apps", on_load=AppsState.load)
def apps_page() -> rx.Component:
    return rx.vstack(
        page_header(
            "Apps",
            rx.button(rx.icon("plus"), "Add app", on_click=AppsState.open_add, id="add-app"),
            when=AppsState.can_deploy,
        ),
        data_table(
            ("Name", "Server", "Source", "URL", "Release", "Env vars", ""),
            AppsState.rows,
            app_row,
            variant="surface",
            id="apps-list",
            empty=empty_callout(
                "No apps yet. An app is a Reflex project (git URL or directory) and "
                "the public URL it answers on."
            ),
        ),
        app_dialog(),
        spacing="4",
        width="100%",
    )
