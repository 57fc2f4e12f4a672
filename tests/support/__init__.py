"""Helpers more than one test module needs (import them from here, never from another
test module): a panel's database opened through rxpanel.db and the services, a snapshot
of what a sandbox server holds, and the browser's settings and story admin."""
