"""`POST /ag-ui` stops reading at its body limit: a huge or endless body is refused with 413
as soon as it is too large, never buffered whole first."""

from __future__ import annotations

import asyncio

from tests.conftest import LiveServer


async def post_raw(server: LiveServer, head: str, body_parts: list[bytes]) -> bytes:
    """Send a request whose body never finishes; return what the server answers meanwhile."""
    host, port = server.url.removeprefix("ws://").rstrip("/").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    try:
        writer.write(head.encode())
        for part in body_parts:
            writer.write(part)
        await writer.drain()
        # The rest of the body never comes: only a server that stopped reading answers now.
        return await asyncio.wait_for(reader.read(4096), 5)
    finally:
        writer.close()


async def test_a_declared_huge_body_is_refused_before_it_is_read(server: LiveServer) -> None:
    head = (
        "POST /ag-ui HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        "Content-Length: 10737418240\r\n\r\n"
    )
    answer = await post_raw(server, head, [b'{"threadId": "t", '])
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    assert b'"too_large"' in answer


async def test_an_endless_chunked_body_is_cut_off_at_the_limit(server: LiveServer) -> None:
    head = (
        "POST /ag-ui HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        "Transfer-Encoding: chunked\r\n\r\n"
    )
    chunk = b"x" * 65536
    parts = [b"%x\r\n%s\r\n" % (len(chunk), chunk)] * 32  # 2 MiB, past the 1 MiB limit
    answer = await post_raw(server, head, parts)
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
