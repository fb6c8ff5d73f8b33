"""From an SDK run to frames: translator → forwarder (coalesce, seq, encode) → sink."""
