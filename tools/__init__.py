"""Function tools, importable on their own; agents.yaml names them via `tools.registry`."""
