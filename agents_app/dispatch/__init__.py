"""The client protocol, once for every entry point (DESIGN §3, §3a).

A transport turns what arrives into frames and hands them to a `Dispatcher`; the
dispatcher answers pings, starts, joins and cancels runs, applies rate limits and caps, and
writes everything back through the client's `Outbox`. The transports keep only what is
theirs: the socket loop (server), gateway events and HTTP statuses (cloud), SSE (AG-UI),
printing (CLI).
"""
