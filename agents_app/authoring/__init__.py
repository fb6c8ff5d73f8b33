"""Tools for prompt authors: graph view, routing examples and checks, config hot reload."""
