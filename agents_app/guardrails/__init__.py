"""Guardrails declared in agents.yaml, run by openai-agents' own guardrail machinery.

- `verdicts`: what a check says (Verdict), what a trip carries (Trip), a check that broke.
- `rules`: the rule kinds (regex, keywords, max_length) as pure text checks.
- `judge`: the `agent` kind — a small agent answering with a structured verdict.
- `sdk`: a config's guardrails as the SDK's Input/Output/ToolInput/ToolOutput guardrails.
- `gate`: which streamed text a client may see yet (buffer) or must take back (stream).
- `turn`: one turn's guard — the gate, the early cut of a parallel input trip, and the
  events a trip ends a run with.
"""
