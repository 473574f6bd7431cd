"""Real redis-server, real server processes, real nginx -- all on loopback, all bounded."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator

import pytest

from tests.support import http
from tests.support.processes import ROOT, free_port, stop, wait_until


class ServerProcess:
    """`python -m fallback serve tests.scale.app:Member` on a port of its own."""

    def __init__(
        self,
        broker: str | None,
        port: int | None = None,
        extra: list[str] | None = None,
        app: str = "tests.scale.app:Member",
        prefix: str = "/chat",
    ):
        self.port = port or free_port()
        args = [
            sys.executable,
            "-m",
            "fallback",
            "serve",
            app,
            "--prefix",
            prefix,
            "--port",
            str(self.port),
            "--log-level",
            "WARNING",
        ]
        if broker:
            args += ["--broker", broker]
        self.log = tempfile.TemporaryFile()  # noqa: SIM115 - closed with the process
        self.process = subprocess.Popen(
            args + (extra or []),
            cwd=ROOT,
            env=dict(os.environ, PYTHONPATH=str(ROOT)),
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        wait_until(
            lambda: http.get(self.url + prefix + "/info", timeout=1).status == 200,
            15,
            f"server on {self.port}",
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def output(self) -> str:
        self.log.seek(0)
        return self.log.read().decode("utf-8", "replace")

    def stop(self) -> int:
        return stop(self.process)


@pytest.fixture
def start_server() -> Iterator[Callable[..., ServerProcess]]:
    started: list[ServerProcess] = []

    def start(broker: str | None = None, **kwargs: object) -> ServerProcess:
        server = ServerProcess(broker, **kwargs)  # type: ignore[arg-type]
        started.append(server)
        return server

    yield start
    for server in started:
        status = server.stop()
        output = server.output()
        assert "Traceback" not in output, output
        assert status == 0, f"server on {server.port} did not stop cleanly on SIGTERM:\n{output}"
