"""The shipped nginx configuration keeps every session on its process."""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support import http
from tests.support.processes import ROOT, free_port, wait_until
from tests.support.sockjs import client_for

pytestmark = pytest.mark.timeout(120)

CONFIG = ROOT / "deploy" / "nginx" / "fallback.conf"


def render(ports: list[int], listen: int) -> str:
    text = CONFIG.read_text()
    lines = [line for line in text.splitlines() if "# fallback-backend" not in line]
    text = "\n".join(lines)
    servers = "".join(f"    server 127.0.0.1:{port};\n" for port in ports)
    text = text.replace("    keepalive 32;", servers + "    keepalive 32;")
    text, count = re.subn(r"listen \d+;  # fallback-listen", f"listen 127.0.0.1:{listen};", text)
    assert count == 1
    return text


@pytest.fixture
def nginx(start_server, redis_server, tmp_path: Path) -> Iterator[tuple[str, list]]:
    binary = shutil.which("nginx") or "/usr/sbin/nginx"
    if not Path(binary).exists():
        pytest.fail("nginx is not installed (make test installs it)")
    servers = [start_server(redis_server.url) for _ in range(3)]
    port = free_port()
    (tmp_path / "fallback.conf").write_text(render([s.port for s in servers], port))
    (tmp_path / "nginx.conf").write_text(
        f"""
        worker_processes 1;
        daemon off;
        pid {tmp_path}/nginx.pid;
        error_log {tmp_path}/error.log warn;
        events {{ worker_connections 1024; }}
        http {{
            access_log off;
            client_body_temp_path {tmp_path}/body;
            proxy_temp_path {tmp_path}/proxy;
            fastcgi_temp_path {tmp_path}/fastcgi;
            uwsgi_temp_path {tmp_path}/uwsgi;
            scgi_temp_path {tmp_path}/scgi;
            include {tmp_path}/fallback.conf;
        }}
        """
    )
    process = subprocess.Popen(
        [binary, "-e", str(tmp_path / "error.log"), "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: http.get(url + "/chat/info", timeout=1).status == 200, 10, "nginx")
        yield url, servers
    finally:
        process.terminate()
        process.wait(timeout=10)


def whoami(client) -> int:
    client.send("whoami")
    return int(client.receive_messages(1)[0].split(":")[1])


@pytest.mark.parametrize("transport", ["xhr", "xhr_streaming", "jsonp", "eventsource"])
def test_http_sessions_stay_on_their_process_for_life(nginx, transport):
    url, _servers = nginx
    pids_seen = set()
    for _ in range(12):
        client = client_for(transport, url + "/chat")
        try:
            assert client.next_frame() == "o"
            first = whoami(client)
            for _ in range(4):
                assert whoami(client) == first
            assert client.requests >= 1
            pids_seen.add(first)
        finally:
            client.close()
    assert len(pids_seen) >= 2, "hashing should spread sessions over processes"


def test_websocket_upgrades_pass_through_and_channels_cross_processes(nginx):
    url, _ = nginx
    clients = [client_for("websocket", url + "/chat") for _ in range(6)]
    try:
        for client in clients:
            assert client.next_frame() == "o"
            client.send("join:hall")
            assert client.receive_messages(1) == ["joined:hall"]
        pids = {whoami(client) for client in clients}
        assert len(pids) >= 2
        clients[0].send("pub:hall|hello everyone")
        for client in clients:
            assert client.receive_messages(1) == ["hall|hello everyone"]
    finally:
        for client in clients:
            client.close()
