"""Real redis-server, real server processes, real nginx -- all on loopback, all bounded."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.support import http

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until(check: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except OSError:
            pass
        time.sleep(0.05)
    raise TimeoutError(f"{what} not ready within {timeout}s")


class RedisServer:
    """redis-server on a free port, no persistence; can be killed and restarted."""

    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        self.workdir = workdir
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            pytest.fail("redis-server is not installed (make test installs it)")
        self.process = subprocess.Popen(
            [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(self.workdir), "--protected-mode", "no"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_until(self._pong, 10, "redis-server")

    def _pong(self) -> bool:
        with socket.create_connection(("127.0.0.1", self.port), timeout=1) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")

    def kill(self) -> None:
        if self.process is not None:
            self.process.send_signal(signal.SIGCONT)  # a frozen one dies as well
            self.process.kill()
            self.process.wait(timeout=10)
            self.process = None

    stop = kill

    def freeze(self) -> None:
        """SIGSTOP: connections stay open and accepted, but nothing is ever answered."""
        assert self.process is not None
        self.process.send_signal(signal.SIGSTOP)

    def thaw(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGCONT)


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path)
    server.start()
    yield server
    server.kill()


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
        args = [sys.executable, "-m", "fallback", "serve", app,
                "--prefix", prefix, "--port", str(self.port), "--log-level", "WARNING"]
        if broker:
            args += ["--broker", broker]
        self.log = tempfile.TemporaryFile()  # noqa: SIM115 - closed with the process
        self.process = subprocess.Popen(
            args + (extra or []), cwd=ROOT, env=dict(os.environ, PYTHONPATH=str(ROOT)),
            stdout=self.log, stderr=subprocess.STDOUT,
        )
        wait_until(lambda: http.get(self.url + prefix + "/info", timeout=1).status == 200, 15,
                   f"server on {self.port}")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def output(self) -> str:
        self.log.seek(0)
        return self.log.read().decode("utf-8", "replace")

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode


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
