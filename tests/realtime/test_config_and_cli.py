"""Tenants from TOML, `serve --config`, and the `admin` command line."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from fallback.exceptions import ConfigurationError
from fallback.realtime import parse_config
from tests.support import http
from tests.support.processes import ROOT, free_port, wait_until
from tests.support.sockjs import client_for

pytestmark = pytest.mark.timeout(60)

SECRET = "0123456789abcdef-secret"
KEY = "0123456789abcdef-apikey"


def test_a_full_config_parses():
    config = parse_config(
        {
            "server": {"port": 9000, "broker": "redis://x", "admin_key": "k" * 16},
            "tenants": {
                "acme": {
                    "secret": SECRET,
                    "api_key": KEY,
                    "client_publish": "chat-*",
                    "settings": {"heartbeat_delay": 10},
                },
                "globex": {"prefix": "/g", "secret": SECRET},
            },
        }
    )
    assert config.port == 9000 and config.broker == "redis://x"
    acme, globex = config.tenants
    assert acme.prefix == "/acme" and acme.client_publish == ("chat-*",)
    assert globex.prefix == "/g" and globex.api_key is None


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"tenants": {}}, "no [tenants.NAME]"),
        ({"tenants": {"a": {"secret": SECRET, "colour": "red"}}}, "colour"),
        ({"tenants": {"a": {"secret": "short"}}}, "at least 16"),
        ({"tenants": {"a b": {"secret": SECRET}}}, "tenant name"),
        ({"server": {"prot": 1}, "tenants": {"a": {"secret": SECRET}}}, "prot"),
        (
            {
                "tenants": {
                    "a": {"secret": SECRET, "prefix": "/x"},
                    "b": {"secret": SECRET, "prefix": "/x"},
                }
            },
            "share",
        ),
        ({"extra": {}, "tenants": {"a": {"secret": SECRET}}}, "extra"),
    ],
)
def test_config_errors_name_the_problem(data, message):
    with pytest.raises(ConfigurationError) as raised:
        parse_config(data)
    assert message in str(raised.value)


def run_admin(url: str, key: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "fallback", "admin", "--url", url, "--key", key, *args],
        cwd=ROOT,
        env=dict(os.environ, PYTHONPATH=str(ROOT)),
        capture_output=True,
        text=True,
        timeout=30,
    )


def test_serve_config_and_admin_cli(tmp_path: Path):
    port = free_port()
    config = tmp_path / "fallback.toml"
    config.write_text(
        f"""
        [server]
        port = {port}
        admin_key = "server-admin-key-0123"

        [tenants.acme]
        secret = "{SECRET}"
        api_key = "{KEY}"
        client_publish = ["chat-*"]
        [tenants.acme.history]
        "hist-*" = {{ size = 10, ttl = 60 }}

        [tenants.globex]
        prefix = "/globex"
        secret = "{SECRET}-globex"
        """
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "fallback", "serve", "--config", str(config)],
        cwd=ROOT,
        env=dict(os.environ, PYTHONPATH=str(ROOT)),
        stderr=subprocess.PIPE,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: http.get(base + "/acme/info", timeout=1).status == 200, 15, "server")
        assert http.get(base + "/globex/info").status == 200
        client = client_for("xhr_streaming", base + "/acme")
        assert client.next_frame() == "o"
        client.send(json.dumps({"v": 1, "op": "subscribe", "id": 1, "channel": "chat-x"}))
        assert json.loads(client.receive_messages(1)[0])["op"] == "ok"

        result = run_admin(base + "/acme", KEY, "publish", "chat-x", '{"hello": "cli"}')
        assert result.returncode == 0, result.stderr
        assert json.loads(result.stdout)["ok"] is True
        message = json.loads(client.receive_messages(1)[0])
        assert message == {"v": 1, "op": "message", "channel": "chat-x", "data": {"hello": "cli"}}

        for n in range(3):
            run_admin(base + "/acme", KEY, "publish", "hist-x", str(n))
        history = json.loads(
            run_admin(base + "/acme", KEY, "history", "hist-x", "--limit", "2").stdout
        )
        assert [p["data"] for p in history["publications"]] == [1, 2]
        since = f"1:{history['epoch']}"
        after = run_admin(base + "/acme", KEY, "history", "hist-x", "--since", since)
        assert [p["offset"] for p in json.loads(after.stdout)["publications"]] == [2, 3]

        channels = json.loads(run_admin(base + "/acme", KEY, "channels").stdout)
        assert channels == {"channels": {"chat-x": 1}}
        tenants = json.loads(run_admin(base, "server-admin-key-0123", "tenants").stdout)
        assert [t["name"] for t in tenants["tenants"]] == ["acme", "globex"]
        wrong = run_admin(base + "/acme", "not-the-key-000000", "channels")
        assert wrong.returncode != 0 and "401" in wrong.stderr
        client.close()
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=15) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert "Traceback" not in (process.stderr.read() if process.stderr else "")


def test_serve_explains_a_bad_config(tmp_path: Path):
    config = tmp_path / "bad.toml"
    config.write_text("[tenants.acme]\nsecret = 'short'\n")
    result = subprocess.run(
        [sys.executable, "-m", "fallback", "serve", "--config", str(config)],
        cwd=ROOT,
        env=dict(os.environ, PYTHONPATH=str(ROOT)),
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 2
    assert "at least 16" in result.stderr and "Traceback" not in result.stderr
