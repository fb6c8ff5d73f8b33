"""The run lifecycle, in one place.

A `Turn` (one user message to answer) becomes a run: `registry.Runs.start` claims the
conversation and starts a task; `conversation` runs it inside its stored conversation (lock,
resume agent, cancel flag); `execute` drives the SDK's streamed run through the translator;
`log.RunLog` numbers, logs and publishes every event; `follow` lets any client — the one that
started the run or another, on this process or another — replay and follow it to its end.
"""
