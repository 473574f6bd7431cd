"""The shipped nginx and HAProxy configurations keep every session on its process."""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support import http
from tests.support.processes import ROOT, free_port, stop, wait_until
from tests.support.sockjs import client_for

pytestmark = pytest.mark.timeout(120)

NGINX_CONFIG = ROOT / "deploy" / "nginx" / "fallback.conf"
HAPROXY_CONFIG = ROOT / "deploy" / "haproxy" / "fallback.cfg"


def without_example_backends(text: str) -> str:
    return "\n".join(line for line in text.splitlines() if "# fallback-backend" not in line)


def render_nginx(ports: list[int], listen: int) -> str:
    text = without_example_backends(NGINX_CONFIG.read_text())
    servers = "".join(f"    server 127.0.0.1:{port};\n" for port in ports)
    text = text.replace("    keepalive 32;", servers + "    keepalive 32;")
    text, count = re.subn(r"listen \d+;  # fallback-listen", f"listen 127.0.0.1:{listen};", text)
    assert count == 1
    return text


def render_haproxy(ports: list[int], listen: int) -> str:
    text = without_example_backends(HAPROXY_CONFIG.read_text())
    # Frames go out at once (without it, every streamed frame waited 200 ms for more).
    assert "    option http-no-delay\n" in text
    servers = "".join(f"    server fallback{n} 127.0.0.1:{port}\n" for n, port in enumerate(ports))
    text, count = re.subn(r"bind :\d+  # fallback-listen", f"bind 127.0.0.1:{listen}", text)
    assert count == 1
    return text.rstrip("\n") + "\n" + servers


def find(binary: str) -> str:
    path = shutil.which(binary) or f"/usr/sbin/{binary}"
    if not Path(path).exists():
        pytest.fail(f"{binary} is not installed (make test installs it)")
    return path


def start_nginx(ports: list[int], listen: int, tmp_path: Path) -> subprocess.Popen[bytes]:
    (tmp_path / "fallback.conf").write_text(render_nginx(ports, listen))
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
    return subprocess.Popen(
        [
            find("nginx"),
            "-e",
            str(tmp_path / "error.log"),
            "-p",
            str(tmp_path),
            "-c",
            str(tmp_path / "nginx.conf"),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def start_haproxy(ports: list[int], listen: int, tmp_path: Path) -> subprocess.Popen[bytes]:
    config = tmp_path / "haproxy.cfg"
    config.write_text(render_haproxy(ports, listen))
    check = subprocess.run(
        [find("haproxy"), "-c", "-f", str(config)], capture_output=True, text=True, timeout=30
    )
    assert check.returncode == 0, check.stdout + check.stderr
    return subprocess.Popen(
        [find("haproxy"), "-db", "-f", str(config)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


@pytest.fixture(params=["nginx", "haproxy"])
def balancer(request, start_server, redis_server, tmp_path: Path) -> Iterator[tuple[str, list]]:
    """Three processes joined by Redis behind the shipped configuration of `request.param`."""
    servers = [start_server(redis_server.url) for _ in range(3)]
    port = free_port()
    start = start_nginx if request.param == "nginx" else start_haproxy
    process = start([s.port for s in servers], port, tmp_path)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: http.get(url + "/chat/info", timeout=1).status == 200, 10, request.param)
        yield url, servers
    finally:
        stop(process)


def whoami(client) -> int:
    client.send("whoami")
    return int(client.receive_messages(1)[0].split(":")[1])


@pytest.mark.parametrize("transport", ["xhr", "xhr_streaming", "jsonp", "eventsource"])
def test_http_sessions_stay_on_their_process_for_life(balancer, transport):
    url, _servers = balancer
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


def test_websocket_upgrades_pass_through_and_channels_cross_processes(balancer):
    url, _ = balancer
    clients = []
    pids: set[int] = set()
    try:
        # Six clients, and more until two processes hold some (the hash is on random
        # session ids: six on one of three processes happens once in 243 runs).
        while len(clients) < 6 or (len(pids) < 2 and len(clients) < 40):
            client = client_for("websocket", url + "/chat")
            clients.append(client)
            assert client.next_frame() == "o"
            client.send("join:hall")
            assert client.receive_messages(1) == ["joined:hall"]
            pids.add(whoami(client))
        assert len(pids) >= 2
        clients[0].send("pub:hall|hello everyone")
        for client in clients:
            assert client.receive_messages(1) == ["hall|hello everyone"]
    finally:
        for client in clients:
            client.close()
