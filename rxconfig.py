import reflex as rx

config = rx.Config(
    app_name="rxpanel",
    # rxpanel keeps its own engine and alembic migrations (rxpanel/db.py);
    # Reflex's model layer stays out of it.
    db_url=None,
    telemetry_enabled=False,
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
