"""Deploys triggered by git hosts' push webhooks."""
