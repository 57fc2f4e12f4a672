"""The page shell: navigation, title, user menu, colour mode; and the gate that
shows the setup or login form instead of any page to a visitor not logged in.
Also what pages are laid out with: a page header and titled sections."""

from __future__ import annotations

import reflex as rx

from rxpanel import routes
from rxpanel.components.forms import field, form_dialog
from rxpanel.state.account import AccountState
from rxpanel.state.auth import AuthState

NAV = [
    ("Overview", routes.OVERVIEW),
    ("Servers", routes.SERVERS),
    ("Apps", routes.APPS),
    ("Tokens", routes.TOKENS),
]
ADMIN_NAV = [("Users", routes.USERS), ("Audit", routes.AUDIT)]  # only admins see these


def nav_link(label: str, href: str) -> rx.Component:
    return rx.link(
        label,
        href=href,
        size="3",
        weight="medium",
        color_scheme="gray",
        high_contrast=True,
        underline="none",
    )


def user_menu() -> rx.Component:
    return rx.menu.root(
        rx.menu.trigger(
            rx.button(
                rx.icon("user", size=16),
                AuthState.username,
                variant="soft",
                size="2",
                id="user-menu",
            )
        ),
        rx.menu.content(
            rx.menu.item(rx.text("Role: ", AuthState.role), disabled=True),
            rx.menu.separator(),
            rx.menu.item(
                rx.icon("key-round", size=14),
                "Change password",
                on_click=AccountState.open_password,
                id="change-password",
            ),
            rx.menu.item("Log out", on_click=AuthState.logout, id="logout"),
        ),
    )


def password_dialog() -> rx.Component:
    """Change one's own password: the current one, the new one twice."""
    return form_dialog(
        "Change your password",
        field(
            "Current password",
            "current_password",
            kind="password",
            required=True,
            auto_complete="current-password",
        ),
        field(
            "New password",
            "new_password",
            kind="password",
            required=True,
            hint="at least 8 characters",
            auto_complete="new-password",
        ),
        field(
            "New password again",
            "confirm_password",
            kind="password",
            required=True,
            auto_complete="new-password",
        ),
        error=AccountState.password_error,
        submit="Change password",
        submit_id="save-password",
        on_submit=AccountState.change_password,
        form_id="password-form",
        is_open=AccountState.password_open,
        on_open_change=AccountState.set_password_open,
        max_width="28em",
    )


def admins_only(content: rx.Component) -> rx.Component:
    """A page only admins may use; others see why (its on_load, @authorized("admin"),
    loads nothing for them either)."""
    return rx.cond(
        AuthState.is_admin,
        content,
        rx.callout(
            "Admins only: this page is for admins. Your role is "
            + AuthState.role
            + "; ask an admin if you need more.",
            icon="shield_alert",
            color_scheme="orange",
            width="100%",
            id="admins-only",
        ),
    )


def page_header(title, *actions: rx.Component, when=None, badge=None, **props) -> rx.Component:
    """A page's title (a text, a Var or a tuple of them), an optional status badge
    beside it, and its actions at the right; with `when`, the actions show only
    while that holds (e.g. the user's role may use them)."""
    if when is not None and actions:
        actions = (rx.cond(when, actions[0] if len(actions) == 1 else rx.fragment(*actions)),)
    return rx.hstack(
        rx.heading(*(title if isinstance(title, tuple) else (title,)), size="7"),
        *([badge] if badge is not None else []),
        rx.spacer(),
        *actions,
        width="100%",
        align="center",
        **props,
    )


def section(title, *children: rx.Component, spacing: str = "3", **props) -> rx.Component:
    """A full-width card: a heading (a text, a Var or a tuple of them; or a whole
    title row as a component) over its content."""
    if not isinstance(title, rx.Component):
        title = rx.heading(*(title if isinstance(title, tuple) else (title,)), size="4")
    return rx.card(
        rx.vstack(title, *children, spacing=spacing, width="100%"),
        width="100%",
        **props,
    )


def navbar() -> rx.Component:
    links = [nav_link(label, href) for label, href in NAV]
    admin_links = [nav_link(label, href) for label, href in ADMIN_NAV]
    return rx.hstack(
        rx.link(
            rx.hstack(
                rx.icon("rocket", size=20),
                rx.heading("rxpanel", size="5"),
                align="center",
                spacing="2",
            ),
            href=routes.OVERVIEW,
            underline="none",
            color_scheme="gray",
            high_contrast=True,
        ),
        rx.desktop_only(
            rx.hstack(
                *links,
                rx.cond(AuthState.is_admin, rx.hstack(*admin_links, spacing="5")),
                spacing="5",
            )
        ),
        rx.spacer(),
        rx.mobile_and_tablet(
            rx.menu.root(
                rx.menu.trigger(rx.icon_button(rx.icon("menu"), variant="ghost", id="mobile-menu")),
                rx.menu.content(
                    *[rx.menu.item(rx.link(label, href=href)) for label, href in NAV],
                    rx.cond(
                        AuthState.is_admin,
                        rx.fragment(
                            *[rx.menu.item(rx.link(label, href=href)) for label, href in ADMIN_NAV]
                        ),
                    ),
                ),
            )
        ),
        rx.color_mode.button(size="2", variant="ghost"),
        user_menu(),
        align="center",
        spacing="4",
        padding_x="1.5em",
        padding_y="0.75em",
        border_bottom=f"1px solid {rx.color('gray', 5)}",
        width="100%",
        position="sticky",
        top="0",
        background_color=rx.color("gray", 1),
        z_index="10",
    )


def _auth_card(
    title: str, intro: str, fields: list[rx.Component], submit: str, handler, form_id: str
) -> rx.Component:
    return rx.center(
        rx.card(
            rx.form(
                rx.vstack(
                    rx.hstack(
                        rx.icon("rocket", size=24), rx.heading("rxpanel", size="6"), align="center"
                    ),
                    rx.heading(title, size="4"),
                    rx.text(intro, color_scheme="gray", size="2"),
                    *fields,
                    rx.cond(
                        AuthState.auth_error != "",
                        rx.callout(
                            AuthState.auth_error,
                            color_scheme="red",
                            icon="triangle_alert",
                            width="100%",
                            id="auth-error",
                        ),
                    ),
                    rx.button(submit, type="submit", width="100%", size="3"),
                    spacing="3",
                ),
                on_submit=handler,
                reset_on_submit=False,
                id=form_id,
            ),
            width="min(26em, 92vw)",
            size="4",
        ),
        min_height="80vh",
    )


def _field(label: str, name: str, kind: str = "text", auto: str = "off") -> rx.Component:
    return rx.vstack(
        rx.text(label, size="2", weight="medium"),
        rx.input(
            name=name,
            type=kind,
            required=True,
            width="100%",
            size="3",
            auto_complete=auto,
            id=f"field-{name}",
        ),
        spacing="1",
        width="100%",
    )


def setup_form() -> rx.Component:
    return _auth_card(
        "Welcome: create the first admin",
        "No admin exists yet. This account can add servers, apps and other users. "
        "The setup token was printed when the panel started; `rxpanel setup-token` "
        "on the panel host shows it again.",
        [
            _field("Setup token", "setup_token", "password"),
            _field("User name", "username", auto="username"),
            _field("Password (8+ characters)", "password", "password", "new-password"),
            _field("Password again", "confirm", "password", "new-password"),
        ],
        "Create admin and log in",
        AuthState.setup,
        "setup-form",
    )


def login_form() -> rx.Component:
    return _auth_card(
        "Log in",
        "Log in to deploy and watch your Reflex apps.",
        [
            _field("User name", "username", auto="username"),
            _field("Password", "password", "password", "current-password"),
        ],
        "Log in",
        AuthState.login,
        "login-form",
    )


def gate() -> rx.Component:
    return rx.cond(AuthState.needs_setup, setup_form(), login_form())


def shell(title: str, content: rx.Component) -> rx.Component:
    return rx.cond(
        AuthState.signed_in,
        rx.vstack(
            navbar(),
            password_dialog(),
            rx.box(
                content,
                width="100%",
                max_width="80em",
                padding_x=["0.75em", "1.5em"],
                padding_y="1.25em",
                margin_x="auto",
            ),
            spacing="0",
            width="100%",
            min_height="100vh",
        ),
        rx.cond(AuthState.checked, gate(), rx.center(rx.spinner(size="3"), min_height="80vh")),
    )
