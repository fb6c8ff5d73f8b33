"""From an SDK run to protocol events: translate, coalesce, fit, classify failures.

Pure functions of events: nothing here knows the engine, the store or any transport.
"""
