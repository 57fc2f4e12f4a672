import reflex as rx

config = rx.Config(
    app_name="rxpanel",
    # rxpanel keeps its own engine and alembic migrations (rxpanel/db.py);
    # Reflex's model layer stays out of it.
    db_url=None,
    telemetry_enabled=False,
    plugins=[rx.plugins.RadixThemesPlugin()],
    disable_plugins=["reflex.plugins.sitemap.SitemapPlugin"],
)
