"""Model backends: the offline model here; real providers live in `providers.py`."""
