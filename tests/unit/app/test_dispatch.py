"""`Dispatcher` on its own: the order, bound, failure and closing rules, event by event."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from fallback.app.dispatch import Dispatcher, coroutine_handlers
from fallback.codes import CloseCode


class Harness:
    """A dispatcher whose handlers record what ran, and whose `close` reports back the
    way a session does (``closed`` with drop for the server's own closes)."""

    def __init__(self, *, limit: int = 3, close_after_reject: bool = False) -> None:
        self.log: list[Any] = []
        self.gate = asyncio.Event()
        self.open_answer: Any = None
        self.raise_in: set[str] = set()
        self.dispatcher = Dispatcher(
            "c1",
            on_open=self.on_open,
            on_message=self.on_message,
            on_close=self.on_close,
            close=self.close,
            finish=lambda: self.log.append("finished"),
            limit=limit,
            close_after_reject=close_after_reject,
        )

    async def on_open(self) -> Any:
        self.log.append("open")
        await asyncio.sleep(0)
        if "open" in self.raise_in:
            raise RuntimeError("open")
        return self.open_answer

    async def on_message(self, text: str) -> None:
        self.log.append(("start", text))
        if text == "wait":
            await self.gate.wait()
        await asyncio.sleep(0)
        if text == "boom":
            raise RuntimeError("boom")
        self.log.append(("done", text))

    def on_close(self) -> None:
        self.log.append("close")
        if "close" in self.raise_in:
            raise RuntimeError("close")

    def close(self, code: int) -> None:
        self.log.append(("closed", code))
        self.dispatcher.closed(True, drop=True)


async def settle() -> None:
    for _ in range(20):
        await asyncio.sleep(0)


def test_handlers_run_one_at_a_time_in_arrival_order():
    async def main() -> list[Any]:
        h = Harness(limit=10)
        h.dispatcher.open()
        for text in ("wait", "b", "c"):
            h.dispatcher.push(text)
        await settle()
        assert h.log == ["open", ("start", "wait")]
        assert h.dispatcher.pending == 2
        h.gate.set()
        h.dispatcher.closed(True, drop=False)
        await settle()
        return h.log

    assert asyncio.run(main()) == [
        "open",
        ("start", "wait"),
        ("done", "wait"),
        ("start", "b"),
        ("done", "b"),
        ("start", "c"),
        ("done", "c"),
        "close",
        "finished",
    ]


def test_one_message_past_the_limit_closes_with_3008_and_drops_the_waiting():
    async def main() -> list[Any]:
        h = Harness(limit=2)
        h.dispatcher.accepted(True)
        for text in ("wait", "x", "y", "z"):
            h.dispatcher.push(text)
        h.gate.set()
        await settle()
        return h.log

    # (A coroutine's body starts when its task runs: after the pushes.)
    assert asyncio.run(main()) == [
        ("closed", CloseCode.QUEUE_OVERFLOW),
        ("start", "wait"),
        ("done", "wait"),
        "close",
        "finished",
    ]


@pytest.mark.expect_errors
def test_a_failing_message_closes_1011_drops_the_rest_and_still_closes(caplog):
    async def main() -> list[Any]:
        h = Harness()
        h.dispatcher.accepted(True)
        for text in ("boom", "never"):
            h.dispatcher.push(text)
        await settle()
        return h.log

    log = asyncio.run(main())
    assert log == [("start", "boom"), ("closed", CloseCode.INTERNAL_ERROR), "close", "finished"]
    assert [r.getMessage() for r in caplog.records] == [
        "connection c1: on_message raised; closing it"
    ]


@pytest.mark.expect_errors
def test_a_failing_on_open_closes_1011_without_on_close_unless_asked():
    for after, expected in ((False, []), (True, ["close"])):

        async def main(after: bool = after) -> list[Any]:
            h = Harness(close_after_reject=after)
            h.raise_in.add("open")
            h.dispatcher.open()
            h.dispatcher.push("never")
            await settle()
            return h.log

        assert asyncio.run(main()) == [
            "open",
            ("closed", CloseCode.INTERNAL_ERROR),
            *expected,
            "finished",
        ]


def test_on_open_returning_false_rejects_with_3001():
    async def main() -> list[Any]:
        h = Harness()
        h.open_answer = False
        h.dispatcher.open()
        h.dispatcher.push("never")
        await settle()
        return h.log

    assert asyncio.run(main()) == ["open", ("closed", CloseCode.REJECTED), "finished"]


def test_a_close_before_on_open_ran_runs_nothing_when_the_server_closed():
    async def main() -> list[Any]:
        h = Harness()
        h.dispatcher.open()  # on_open started: it awaits
        h.dispatcher.closed(True, drop=True)
        await settle()
        return h.log

    # on_open had started and accepted (None): on_close follows it.
    assert asyncio.run(main()) == ["open", "close", "finished"]


def test_a_client_close_while_on_open_awaits_still_gets_on_open_then_on_close():
    async def main() -> list[Any]:
        h = Harness()
        h.dispatcher.open()
        h.dispatcher.push("sent before leaving")
        h.dispatcher.closed(True, drop=False)
        await settle()
        return h.log

    assert asyncio.run(main()) == [
        "open",
        ("start", "sent before leaving"),
        ("done", "sent before leaving"),
        "close",
        "finished",
    ]


@pytest.mark.expect_errors
def test_on_close_raising_is_logged_and_still_finishes(caplog):
    async def main() -> list[Any]:
        h = Harness()
        h.raise_in.add("close")
        h.dispatcher.accepted(True)
        h.dispatcher.closed(True, drop=False)
        await settle()
        return h.log

    assert asyncio.run(main()) == ["close", "finished"]
    assert [r.getMessage() for r in caplog.records] == ["connection c1: on_close raised"]


def test_coroutine_handlers_are_found_once_per_class():
    class Plain:
        def on_message(self, text: str) -> None: ...

    class Async:
        async def on_close(self) -> None: ...

    assert (coroutine_handlers(Plain), coroutine_handlers(Async)) == (False, True)
