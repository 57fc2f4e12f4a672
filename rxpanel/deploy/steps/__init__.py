"""The steps of the deploy and rollback recipes, one module per family."""
