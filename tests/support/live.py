"""A Tornado server on 127.0.0.1, on an ephemeral port, in a thread of its own.

Tests drive it with real blocking clients (sockets, http.client, websocket-client) and
reach into the server's loop with `LiveServer.call`, which runs a function there and
returns its result -- never touching server state from the test thread.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

import tornado.web
from tornado.httpserver import HTTPServer
from tornado.netutil import bind_sockets

from fallback.server import DEFAULT_BACKLOG, make_server

T = TypeVar("T")


class LiveServer:
    def __init__(
        self,
        app_factory: Callable[[], tornado.web.Application],
        **server_settings: Any,
    ) -> None:
        self._app_factory = app_factory
        self._server_settings = server_settings
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._server: HTTPServer | None = None
        self.app: tornado.web.Application | None = None
        self.port = 0

    @property
    def server(self) -> HTTPServer:
        """The running server; touch it only through `call`."""
        assert self._server is not None
        return self._server

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    def start(self) -> LiveServer:
        ready: concurrent.futures.Future[None] = concurrent.futures.Future()

        def run() -> None:
            loop = asyncio.new_event_loop()
            asyncio.set_event_loop(loop)
            self._loop = loop

            async def setup() -> None:
                sockets = bind_sockets(0, "127.0.0.1", backlog=DEFAULT_BACKLOG)
                self.port = sockets[0].getsockname()[1]  # known to the factory
                self.app = self._app_factory()
                # The server `fallback.server.listen` starts, in-band Flash policy and all,
                # so every loopback test also proves HTTP is unaffected by it.
                self._server = make_server(self.app, self.port, **self._server_settings)
                self._server.add_sockets(sockets)

            try:
                loop.run_until_complete(setup())
            except BaseException as error:  # surface start-up errors in the test thread
                ready.set_exception(error)
                return
            ready.set_result(None)
            loop.run_forever()
            loop.run_until_complete(self._shutdown())
            loop.close()

        self._thread = threading.Thread(target=run, name="live-server", daemon=True)
        self._thread.start()
        ready.result(timeout=10)
        return self

    async def _shutdown(self) -> None:
        if self._server is not None:
            self._server.stop()
            await self._server.close_all_connections()
        tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def call(self, fn: Callable[..., T], *args: Any, timeout: float = 5.0) -> T:
        """Run ``fn(*args)`` on the server's loop and return what it returns."""
        assert self._loop is not None
        result: concurrent.futures.Future[T] = concurrent.futures.Future()

        def invoke() -> None:
            try:
                result.set_result(fn(*args))
            except BaseException as error:
                result.set_exception(error)

        self._loop.call_soon_threadsafe(invoke)
        return result.result(timeout=timeout)

    def submit(self, coroutine: Coroutine[Any, Any, T]) -> concurrent.futures.Future[T]:
        """Start `coroutine` on the server's loop; its result comes in the future."""
        assert self._loop is not None
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop)

    def stop(self) -> None:
        if self._loop is not None and self._thread is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=10)
            self._loop = None
