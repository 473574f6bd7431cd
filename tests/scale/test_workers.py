"""`--workers N` runs N full servers on consecutive ports and stops them together."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys

import pytest

from tests.support import http
from tests.support.processes import ROOT, free_port, wait_until
from tests.support.sockjs import client_for

pytestmark = pytest.mark.timeout(60)


def consecutive_free_ports() -> int:
    """A port P such that P and P+1 are both free right now."""
    for _ in range(50):
        base = free_port()
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", base + 1))
            except OSError:
                continue
        return base
    raise RuntimeError("no two consecutive free ports")


def test_workers_serve_consecutive_ports_share_channels_and_stop_on_sigterm(redis_server):
    base = consecutive_free_ports()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "fallback",
            "serve",
            "tests.scale.app:Member",
            "--prefix",
            "/chat",
            "--port",
            str(base),
            "--workers",
            "2",
            "--broker",
            redis_server.url,
        ],
        cwd=ROOT,
        env=dict(os.environ, PYTHONPATH=str(ROOT)),
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        for port in (base, base + 1):
            wait_until(
                lambda port=port: (
                    http.get(f"http://127.0.0.1:{port}/chat/info", timeout=1).status == 200
                ),
                20,
                f"worker on {port}",
            )
        first = client_for("websocket", f"http://127.0.0.1:{base}/chat")
        second = client_for("xhr_streaming", f"http://127.0.0.1:{base + 1}/chat")
        for client in (first, second):
            assert client.next_frame() == "o"
            client.send("join:both")
            assert client.receive_messages(1) == ["joined:both"]
        first.send("whoami")
        second.send("whoami")
        assert first.receive_messages(1) != second.receive_messages(1)
        first.send("pub:both|across workers")
        assert second.receive_messages(1) == ["both|across workers"]
        first.close()
        second.close()
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=20) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert "Traceback" not in (process.stderr.read() if process.stderr else "")
