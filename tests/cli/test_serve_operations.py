"""``fallback serve`` as operations run it: TLS, a folder of pages, health, workers."""

from __future__ import annotations

import http.client
import json
import socket
import ssl
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
import websocket  # websocket-client

from tests.cli.support import Server, one_line_error, run
from tests.support import http as plain
from tests.support.processes import free_port, wait_until
from tests.support.sockjs import client_for, decode_close

pytestmark = pytest.mark.timeout(90)

APP = "tests.server.apps:Echo"


def make_certificate(folder: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 and its key, made by openssl."""
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
            "-keyout", str(key), "-out", str(cert), "-subj", "/CN=127.0.0.1",
            "-addext", "subjectAltName=IP:127.0.0.1",
        ],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    return cert, key


def get_json(url: str, context: ssl.SSLContext | None = None) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(url, timeout=5, context=context) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


@pytest.mark.parametrize("separate_key", [True, False])
def test_certfile_serves_https_and_wss(tmp_path, separate_key):
    cert, key = make_certificate(tmp_path)
    flags = ["--certfile", str(cert), "--keyfile", str(key)]
    if not separate_key:
        both = tmp_path / "both.pem"
        both.write_text(cert.read_text() + key.read_text())
        flags = ["--certfile", str(both)]
    port = free_port()
    server = Server("serve", APP, "--prefix", "/echo", "--port", str(port), *flags)
    try:
        server.wait_for(f"on https://127.0.0.1:{port}/echo")
        context = ssl.create_default_context(cafile=str(cert))
        status, info = get_json(f"https://127.0.0.1:{port}/echo/info", context)
        assert status == 200 and info["websocket"] is True
        ws = websocket.create_connection(
            f"wss://127.0.0.1:{port}/echo/websocket", sslopt={"ca_certs": str(cert)}, timeout=5
        )
        try:
            ws.send("over tls ✓")
            assert ws.recv() == "over tls ✓"
        finally:
            ws.close()
        with pytest.raises((ConnectionError, http.client.HTTPException, OSError)):
            plain.get(f"http://127.0.0.1:{port}/echo/info", timeout=3)
    finally:
        assert server.stop() == 0


def test_a_certificate_that_is_not_one_gets_one_line(tmp_path):
    bogus = tmp_path / "bogus.pem"
    bogus.write_text("not a certificate\n")
    result = run("serve", APP, "--certfile", str(bogus), "--port", str(free_port()))
    assert result.returncode == 1
    assert f"--certfile {bogus}: not a PEM certificate" in one_line_error(result)
    missing = run("serve", APP, "--certfile", str(tmp_path / "nope.pem"))
    assert missing.returncode == 1
    assert "no such file" in one_line_error(missing)


def test_static_serves_a_folder_of_pages_next_to_the_service(tmp_path):
    site = tmp_path / "site"
    (site / "docs").mkdir(parents=True)
    (site / "index.html").write_text("<title>quick start</title>")
    (site / "docs" / "index.html").write_text("docs page")
    (site / "app.js").write_text("console.log(1)")
    (site / ".env").write_text("SECRET=1")
    (site / ".git").mkdir()
    (site / ".git" / "config").write_text("[core]")
    port = free_port()
    server = Server("serve", APP, "--static", str(site), "--port", str(port))
    try:
        server.wait_for(f"pages from {site} at /")
        base = f"http://127.0.0.1:{port}"
        assert plain.get(base + "/").text == "<title>quick start</title>"
        assert plain.get(base + "/docs/").text == "docs page"
        script = plain.get(base + "/app.js")
        assert script.status == 200 and script.header("X-Content-Type-Options") == "nosniff"
        for hidden in ("/.env", "/.git/config", "/docs/../.env", "/%2e%65nv"):
            assert plain.get(base + hidden).status == 404, hidden
        assert plain.get(base + "/../../etc/passwd").status in (400, 403, 404)
        assert json.loads(plain.get(base + "/info").text)["websocket"] is True  # the service
        assert plain.get(base + "/static/fallback.js").status == 200
        client = client_for("xhr_streaming", base)
        assert client.next_frame() == "o"
        client.send("next to the pages")
        assert client.receive_messages(1) == ["next to the pages"]
        client.close()
    finally:
        assert server.stop() == 0


def test_static_that_is_not_a_folder_gets_one_line(tmp_path):
    result = run("serve", APP, "--static", str(tmp_path / "nothing"), "--port", str(free_port()))
    assert result.returncode == 2
    assert "--static" in one_line_error(result) and "not a directory" in result.stderr


def test_health_answers_ready_and_live_with_the_broker_state():
    port = free_port()
    server = Server("serve", APP, "--prefix", "/echo", "--port", str(port))
    try:
        server.wait_for("health at /echo/health")
        status, state = get_json(f"http://127.0.0.1:{port}/echo/health")
        assert status == 200
        assert state == {
            "live": True,
            "ready": True,
            "draining": False,
            "broker": {"kind": "memory", "connected": True, "required": False},
        }
        assert get_json(f"http://127.0.0.1:{port}/echo/health/live")[0] == 200
    finally:
        server.stop()
    other = free_port()
    moved = Server("serve", APP, "--port", str(other), "--health-path", "/_ready")
    try:
        moved.wait_for("health at /_ready")
        assert get_json(f"http://127.0.0.1:{other}/_ready")[0] == 200
    finally:
        moved.stop()


def _closed_port() -> int:
    return free_port()  # nothing listens there


def test_an_unreachable_broker_is_a_warning_unless_required():
    url = f"redis://127.0.0.1:{_closed_port()}/0"
    port = free_port()
    server = Server("serve", APP, "--port", str(port), "--broker", url)
    try:
        server.wait_for("fallback serving")
        status, state = get_json(f"http://127.0.0.1:{port}/health")
        assert status == 200 and state["ready"] is True
        assert state["broker"] == {"kind": "redis", "connected": False, "required": False}
    finally:
        server.stop()
    started = time.monotonic()
    result = run("serve", APP, "--port", str(free_port()), "--broker", url, "--broker-required")
    assert result.returncode == 1
    lines = [line for line in result.stderr.splitlines() if line.startswith("fallback:")]
    assert lines == [
        "fallback: --broker-required: the redis broker is unreachable (waited 5 s); not starting"
    ]
    assert "Traceback" not in result.stderr
    assert time.monotonic() - started < 30


def test_broker_required_reports_not_ready_when_the_broker_is_lost(redis_server):
    port = free_port()
    server = Server(
        "serve", APP, "--port", str(port), "--broker", redis_server.url, "--broker-required"
    )
    try:
        server.wait_for("fallback serving")
        status, state = get_json(f"http://127.0.0.1:{port}/health")
        assert (status, state["broker"]["connected"], state["ready"]) == (200, True, True)
        redis_server.kill()
        wait_until(lambda: get_json(f"http://127.0.0.1:{port}/health")[0] == 503, 20, "not ready")
        _, state = get_json(f"http://127.0.0.1:{port}/health")
        assert state["ready"] is False and state["broker"]["connected"] is False
        assert get_json(f"http://127.0.0.1:{port}/health/live")[0] == 200
    finally:
        server.stop()


def consecutive_free_ports(count: int) -> int:
    for _ in range(50):
        base = free_port()
        if base + count > 65535:
            continue
        sockets = []
        try:
            for port in range(base, base + count):
                sock = socket.socket()
                sock.bind(("127.0.0.1", port))
                sockets.append(sock)
            return base
        except OSError:
            continue
        finally:
            for sock in sockets:
                sock.close()
    raise RuntimeError("no consecutive free ports")


def test_a_worker_that_cannot_start_stops_the_group_with_a_non_zero_status():
    base = consecutive_free_ports(2)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", base + 1))
        taken.listen()
        server = Server("serve", APP, "--port", str(base), "--workers", "2")
        try:
            status = server.process.wait(timeout=60)
        finally:
            server.stop()
    assert status == 1
    server.wait_for("stopping all workers")
    logged = "".join(server.seen)
    assert f"[port {base + 1}] " in logged and "address already in use" in logged
    assert f"[port {base}] " in logged, "the healthy worker's lines carry its port too"


def test_sigterm_drains_every_worker():
    base = consecutive_free_ports(2)
    server = Server("serve", APP, "--prefix", "/echo", "--port", str(base), "--workers", "2")
    try:
        for port in (base, base + 1):
            server.wait_for(f"INFO [port {port}] fallback: fallback serving")
        clients = [
            client_for("websocket", f"http://127.0.0.1:{base}/echo"),
            client_for("xhr_streaming", f"http://127.0.0.1:{base + 1}/echo"),
        ]
        for client in clients:
            assert client.next_frame() == "o"
            client.send("before the drain")
            assert client.receive_messages(1) == ["before the drain"]
        server.process.terminate()
        for client in clients:
            assert decode_close(client.next_data_frame(timeout=15))[0] == 1012
            client.abort()  # websocket-client's close() would log the server's 1012 as ERROR
        assert server.process.wait(timeout=30) == 0
    finally:
        server.stop()
