"""The SDK's usage → the protocol's: tokens that no one reported stay unknown (null), never 0.

openai-agents counts every model request that completes, but when the provider sends no usage
(a Chat Completions stream without a usage chunk, a Responses stream whose `response.usage` is
absent) it adds that request with zero tokens and records no per-request entry: `Usage.add`
keeps an entry only for a request that came with tokens. A request without one is a request
whose cost is unknown, and then so is the run's total: a partial sum would pass for the whole.
"""

from __future__ import annotations

from agents import Usage as SdkUsage

from agents_app.protocol.events import Usage


def run_usage(usage: SdkUsage) -> Usage:
    reported = sum(
        1
        for entry in usage.request_usage_entries
        if entry.input_tokens or entry.output_tokens or entry.total_tokens
    )
    if reported == 0 or reported < usage.requests:
        return Usage(requests=usage.requests)
    return Usage(
        requests=usage.requests,
        input_tokens=usage.input_tokens,
        output_tokens=usage.output_tokens,
        total_tokens=usage.total_tokens,
    )
