import os

import reflex as rx

config = rx.Config(
    app_name="rxpanel",
    # rxpanel keeps its own engine and alembic migrations (rxpanel/db.py);
    # Reflex's model layer stays out of it.
    db_url=None,
    telemetry_enabled=False,
    # UI state holds the session cookie (and, for a moment, a new API token): keep it
    # in memory, or in Redis when several workers share it; never in files on disk.
    state_manager_mode="redis" if os.environ.get("REFLEX_REDIS_URL") else "memory",
    show_built_with_reflex=False,
    plugins=[
        rx.plugins.RadixThemesPlugin(
            theme=rx.theme(
                appearance="inherit", accent_color="indigo", gray_color="slate", radius="medium"
            )
        )
    ],
    disable_plugins=[rx.plugins.SitemapPlugin],
)
