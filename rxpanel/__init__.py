"""rxpanel: a self-hosted control panel that deploys Reflex apps over SSH."""
