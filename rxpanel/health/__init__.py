"""Scheduled health checks of every app's public URL, alerts and auto-rollback."""
