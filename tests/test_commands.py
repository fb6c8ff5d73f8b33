"""Inbound frames: plain text is a message, JSON objects are commands, bad frames are typed."""

from __future__ import annotations

import pytest

from agents_app.protocol.commands import BadFrame, CancelRun, Ping, UserMessage, parse_frame

LIMIT = 1024


@pytest.mark.parametrize(
    ("frame", "expected"),
    [
        ("Tell me a joke", UserMessage(text="Tell me a joke")),
        ("42", UserMessage(text="42")),  # JSON, but not an object: still the user's words
        ("[1, 2]", UserMessage(text="[1, 2]")),
        ('{"type":"ping"}', Ping()),
        ('{"type":"run.cancel"}', CancelRun()),
        (
            '{"type":"user.message","text":"hi","agent":"joker","conversation_id":"c-1"}',
            UserMessage(text="hi", agent="joker", conversation_id="c-1"),
        ),
        ("Привет".encode(), UserMessage(text="Привет")),
    ],
)
def test_parses(frame: str | bytes, expected: object) -> None:
    assert parse_frame(frame, max_bytes=LIMIT) == expected


@pytest.mark.parametrize(
    ("frame", "code", "fragment"),
    [
        ("x" * (LIMIT + 1), "too_large", "exceeds"),
        ("я" * (LIMIT // 2 + 1), "too_large", "exceeds"),  # bytes, not characters
        ("", "bad_request", "Empty"),
        ("   \n", "bad_request", "Empty"),
        (b"\xff\xfe", "bad_request", "UTF-8"),
        ('{"type":"dance"}', "bad_request", "Invalid command"),
        ('{"text":"no type"}', "bad_request", "Invalid command"),
        ('{"type":"user.message"}', "bad_request", "text"),
        ('{"type":"user.message","text":""}', "bad_request", "text"),
        ('{"type":"user.message","text":"hi","extra":1}', "bad_request", "extra"),
        ('{"type":"ping","x":1}', "bad_request", "Invalid command"),
    ],
)
def test_rejects(frame: str | bytes, code: str, fragment: str) -> None:
    with pytest.raises(BadFrame) as info:
        parse_frame(frame, max_bytes=LIMIT)
    assert info.value.code == code
    assert fragment in info.value.message


def test_deeply_nested_json_is_text_not_a_crash() -> None:
    frame = "[" * 100_000 + "]" * 100_000
    assert parse_frame(frame, max_bytes=10**6) == UserMessage(text=frame)


def test_an_object_too_deep_to_read_is_a_bad_command_not_chat() -> None:
    # 15 KB of braces used to start a model run; it is a command that cannot be read.
    frame = '{"a":' * 5000 + "1" + "}" * 5000
    with pytest.raises(BadFrame) as info:
        parse_frame(frame, max_bytes=10**6)
    assert info.value.code == "bad_request" and len(info.value.message) < 200
