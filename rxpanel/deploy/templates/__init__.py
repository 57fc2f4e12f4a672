"""Pure renderers of the files rxpanel writes on a server."""
