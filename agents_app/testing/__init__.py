"""Test and benchmark helpers that ship with the package (benchmarks need them too)."""

from agents_app.testing.scripted_app import RecordedRequest
from agents_app.testing.scripted_server import ScriptedOpenAIServer
from agents_app.testing.scripted_steps import (
    BreakStream,
    EndEarly,
    Fail,
    Malformed,
    Reply,
    Stall,
    Step,
    Text,
    ToolCall,
)
from agents_app.testing.wire_validation import WireDriftError

__all__ = [
    "BreakStream",
    "EndEarly",
    "Fail",
    "Malformed",
    "RecordedRequest",
    "Reply",
    "ScriptedOpenAIServer",
    "Stall",
    "Step",
    "Text",
    "ToolCall",
    "WireDriftError",
]
