"""A sink that can keep its last frame back, for a Cloud Function's answer.

API Gateway sends the body of a MESSAGE invocation's answer to the client as one more
message. The frame that ends what an invocation waits for (its run's terminal event) can
ride there instead of costing a `Send`: the function returns a Send earlier, and the client
gets the frame as the gateway relays the answer, after every frame sent before it.
"""

from __future__ import annotations

from agents_app.protocol.sink import Sink


class HoldLast:
    def __init__(self, inner: Sink) -> None:
        self._inner = inner
        self._holding = False
        self._held: str | None = None

    def hold(self) -> None:
        """From now on each frame waits for the next one; the last is kept for `take`."""
        self._holding = True

    async def send(self, frame: str) -> None:
        if not self._holding:
            await self._inner.send(frame)
            return
        held, self._held = self._held, frame
        if held is not None:
            await self._inner.send(held)

    def take(self) -> str | None:
        """The frame kept back (None if none): the caller now delivers it."""
        held, self._held = self._held, None
        return held
