"""`python -m fallback serve module:Class` starts a server and says where."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.support import http
from tests.support.processes import free_port

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.timeout(60)


def wait_for_line(process: subprocess.Popen[str], needle: str, timeout: float = 15) -> str:
    deadline = time.monotonic() + timeout
    assert process.stderr is not None
    seen = []
    while time.monotonic() < deadline:
        line = process.stderr.readline()
        if not line:
            break
        seen.append(line)
        if needle in line:
            return line
    raise AssertionError(f"{needle!r} not logged; got: {''.join(seen)}")


def test_serve_starts_logs_its_url_and_stops_on_sigterm(tmp_path: Path) -> None:
    (tmp_path / "myapp.py").write_text(
        "from fallback import Connection\n"
        "class Echo(Connection):\n"
        "    def on_message(self, text):\n"
        "        self.send(text.upper())\n"
    )
    port = free_port()
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "fallback",
            "serve",
            "myapp:Echo",
            "--prefix",
            "/echo",
            "--port",
            str(port),
            "--heartbeat-delay",
            "5",
        ],
        cwd=tmp_path,
        env=env,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        line = wait_for_line(process, "fallback serving")
        assert f"http://127.0.0.1:{port}/echo" in line
        base = f"http://127.0.0.1:{port}/echo/000/cli"
        assert http.post(base + "/xhr").text == "o\n"
        assert http.post(base + "/xhr_send", '["shout"]').status == 204
        assert http.post(base + "/xhr").text == 'a["SHOUT"]\n'
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("nosuchmodule:Echo", "cannot import"),
        ("json:loads", "not a fallback.Connection"),
        ("json", "module:ConnectionClass"),
    ],
)
def test_serve_explains_a_bad_target(tmp_path: Path, spec: str, message: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "fallback", "serve", spec, "--port", str(free_port())],
        cwd=tmp_path,
        env=dict(os.environ, PYTHONPATH=str(ROOT)),
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr
