"""Fuzzing the command parser alone: deeply nested and very wide JSON.

A frame that is a JSON object is a command. One that cannot be acted on — nested past the
parser's recursion limit, or wider than any command — is refused as `bad_request` with a
short message; it never reaches the model as the user's words. No server is involved, so
many examples are cheap (the transports are fuzzed in tests/test_fuzz.py).
"""

from __future__ import annotations

import json
import os
import sys

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agents_app.protocol.commands import BadFrame, CancelRun, Ping, UserMessage, parse_frame

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "1200")) // 4
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.large_base_example],
    derandomize=bool(os.environ.get("CI")),  # reproducible in CI
)
LIMIT = 1 << 22  # far above every frame here: the structure decides, not the size check
RECURSION = sys.getrecursionlimit()
# Error messages echo key names; they must stay short whatever the client sent.
MAX_MESSAGE = 500

keys = st.text(max_size=12)
scalars = (st.none() | st.booleans() | st.integers() | st.text(max_size=12)).map(json.dumps)
padding = st.sampled_from(["", " ", "\n", "\t \r\n"])


def nest(levels: list[str], leaf: str) -> str:
    """`levels` containers ("object" or "array") around `leaf`, built as text so that
    depths far past the recursion limit cost nothing to make."""
    head = "".join('{"k":' if level == "object" else "[" for level in levels)
    tail = "".join("}" if level == "object" else "]" for level in reversed(levels))
    return head + leaf + tail


# Depth up to three times the recursion limit; most examples are either shallow or deep.
depths = st.one_of(st.integers(1, 50), st.integers(RECURSION - 50, RECURSION * 3))
deep_objects = st.builds(
    lambda pad, key, kinds, depth, leaf: (
        pad
        + "{"
        + json.dumps(key)
        + ":"
        + nest([kinds[i % len(kinds)] for i in range(depth)], leaf)
        + "}"
    ),
    padding,
    st.sampled_from(["type", "text", "agent", "k", ""]) | keys,
    st.lists(st.sampled_from(["object", "array"]), min_size=1, max_size=3),
    depths,
    scalars,
)
# A command whose one field holds a deep structure: still one command that cannot be read.
deep_fields = st.builds(
    lambda field, depth, leaf: (
        json.dumps({"type": "user.message", "text": "hi"})[:-1]
        + f', "{field}": '
        + nest(["array"] * depth, leaf)
        + "}"
    ),
    st.sampled_from(["text", "agent", "conversation_id", "extra"]),
    depths,
    scalars,
)
wide_objects = st.builds(
    lambda command, names, value: json.dumps(command | dict.fromkeys(names, value)),
    st.sampled_from(
        [{}, {"type": "ping"}, {"type": "run.cancel"}, {"type": "user.message", "text": "hi"}]
    ),
    # Many short keys, or a few very long ones (which an error message would echo).
    st.one_of(
        st.lists(keys, min_size=1, max_size=2000, unique=True),
        st.lists(st.text(min_size=600, max_size=3000), min_size=1, max_size=3, unique=True),
    ).filter(lambda names: not set(names) & {"type", "text", "agent", "conversation_id"}),
    scalars.map(json.loads),
)
wide_values = st.builds(
    lambda field, width, value: json.dumps(
        {"type": "user.message", "text": "hi", field: [value] * width}
    ),
    st.sampled_from(["text", "agent", "conversation_id"]),
    st.integers(1, 20_000),
    scalars.map(json.loads),
)


def assert_refused(frame: str) -> None:
    try:
        command = parse_frame(frame, max_bytes=LIMIT)
    except BadFrame as bad:
        assert bad.code == "bad_request"
        assert 0 < len(bad.message) <= MAX_MESSAGE
    else:
        raise AssertionError(f"read as {type(command).__name__}, not refused: {frame[:80]!r}")


@FUZZ
@given(deep_objects)
def test_deeply_nested_objects_are_bad_requests(frame: str) -> None:
    assert_refused(frame)


@FUZZ
@given(deep_fields)
def test_commands_with_deeply_nested_fields_are_bad_requests(frame: str) -> None:
    assert_refused(frame)


@FUZZ
@given(st.one_of(wide_objects, wide_values))
def test_very_wide_objects_are_bad_requests_with_a_short_message(frame: str) -> None:
    assert_refused(frame)


@FUZZ
@given(
    padding,
    st.sampled_from(
        [
            ({"type": "ping"}, Ping()),
            ({"type": "run.cancel"}, CancelRun()),
            ({"type": "user.message", "text": "hi"}, UserMessage(text="hi")),
        ]
    ),
)
def test_padded_commands_still_parse(pad: str, case: tuple[dict[str, str], object]) -> None:
    command, expected = case
    assert parse_frame(pad + json.dumps(command) + pad, max_bytes=LIMIT) == expected


@FUZZ
@given(st.integers(1, RECURSION * 3), padding)
def test_deep_arrays_stay_the_users_text(depth: int, pad: str) -> None:
    # Only objects are commands (DESIGN §3): anything else, however odd, is what was typed.
    frame = pad + nest(["array"] * depth, "")
    assert parse_frame(frame, max_bytes=LIMIT) == UserMessage(text=frame)
