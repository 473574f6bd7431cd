"""Every mistake the issue lists ends in one line on stderr and a non-zero exit status."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tests.cli.support import ENV, ROOT, Server, one_line_error, run
from tests.support.processes import free_port

pytestmark = pytest.mark.timeout(60)

APP = "tests.server.apps:Echo"


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--port", "99999"], "argument --port: a port is 1-65535 (or 0: any free one), not 99999"),
        (["--port=-1"], "argument --port: a port is 1-65535 (or 0: any free one), not -1"),
        (["--port", "http"], "argument --port: not a port number: 'http'"),
        (["--log-level", "debgu"], "argument --log-level: unknown log level 'debgu'"),
        (["--heartbeat-delay", "0"], "argument --heartbeat-delay: must be positive, not 0"),
        (["--workers", "two"], "--workers takes a number, not 'two'"),
        (["--broker", "kafka://q:9092"], "--broker: unknown scheme 'kafka'"),
        (["--keyfile", "key.pem"], "--keyfile needs --certfile"),
    ],
)
def test_bad_flags_get_one_line_and_status_2(args, expected):
    result = run("serve", APP, *args)
    assert result.returncode == 2
    assert expected in one_line_error(result)


def test_a_log_level_in_any_case_is_accepted():
    result = run("serve", APP, "--log-level", "warning", "--port", "99999")
    assert "log level" not in result.stderr  # it got as far as the port


def test_redis_broker_without_the_redis_extra_says_which_extra(tmp_path):
    # The redis package hidden from the process, as on an install without the extra.
    code = (
        "import sys, runpy; sys.modules['redis'] = None; "
        "sys.argv = ['fallback', 'serve', 'tests.server.apps:Echo', "
        "'--broker', 'redis://:hunter2@127.0.0.1:6379/0']; "
        "runpy.run_module('fallback', run_name='__main__')"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=ENV, capture_output=True, text=True, timeout=30
    )
    assert result.returncode == 2
    line = one_line_error(result)
    assert "pip install 'fallback[redis]'" in line
    assert "hunter2" not in line, "a broker URL may hold a password: never echoed"


@pytest.mark.parametrize(
    ("toml", "expected"),
    [
        ('[tenants.acme]\nprefix = "/acme"\n', "[tenants.acme] needs a secret"),
        ("[tenants.acme]\nsecret = 12345678901234567890\n", "secret must be a string"),
        ('[tenants.acme]\nsecret = "0123456789abcdef"\nprefix = 5\n', "prefix must be a string"),
    ],
)
def test_toml_tenant_mistakes_get_one_line(tmp_path, toml, expected):
    (tmp_path / "server.toml").write_text(toml)
    result = run("serve", "--config", str(tmp_path / "server.toml"), "--port", str(free_port()))
    assert result.returncode == 2
    assert expected in one_line_error(result)


def test_address_in_use_names_the_address():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run("serve", APP, "--port", str(port))
    assert result.returncode == 1
    assert one_line_error(result) == (
        f"fallback: cannot listen on 127.0.0.1:{port}: address already in use "
        "(is another server running there?)"
    )


def test_a_missing_module_file_gets_one_line(tmp_path):
    result = run("serve", "./nothere.py:Chat", cwd=tmp_path)
    assert result.returncode == 2
    assert "cannot import './nothere.py': no such file" in one_line_error(result)


def test_serve_takes_a_module_file_path(tmp_path):
    (tmp_path / "mymodule.py").write_text(
        "from fallback import Connection\n"
        "class Chat(Connection):\n"
        "    def on_message(self, text):\n"
        "        self.send('chat:' + text)\n"
    )
    port = free_port()
    server = Server("serve", "./mymodule.py:Chat", "--port", str(port), cwd=tmp_path)
    try:
        server.wait_for(f"fallback serving ./mymodule.py:Chat on http://127.0.0.1:{port}/")
        from tests.support import http

        base = f"http://127.0.0.1:{port}/000/file"
        assert http.post(base + "/xhr").text == "o\n"
        assert http.post(base + "/xhr_send", '["hi"]').status == 204
        assert http.post(base + "/xhr").text == 'a["chat:hi"]\n'
    finally:
        assert server.stop() == 0


def test_version_prints_the_package_version():
    import fallback

    result = run("--version")
    assert (result.returncode, result.stdout.strip()) == (0, f"fallback {fallback.__version__}")


def test_every_serve_flag_has_help_with_its_default_and_no_markup():
    text = run("serve", "--help").stdout
    entries: dict[str, str] = {}
    current = None
    for line in text.splitlines():
        stripped = line.strip()
        if line.startswith("  -") and not line.startswith("  -h"):
            current = stripped.split()[0].rstrip(",")
            entries[current] = stripped
        elif current is not None and line.startswith("      "):
            entries[current] += " " + stripped
        else:
            current = None
    assert len(entries) > 30, text
    undocumented = sorted(flag for flag, help_text in entries.items() if "default" not in help_text)
    assert undocumented == []
    for command in (["--help"], ["serve", "--help"]):
        shown = run(*command).stdout
        assert "``" not in shown and ":class:" not in shown and "`" not in shown, shown


def test_demo_help_shows_defaults_and_a_busy_port_is_one_line():
    help_text = subprocess.run(
        [sys.executable, "-m", "demo.app", "--help"],
        cwd=ROOT, env=ENV, capture_output=True, text=True, timeout=30,
    ).stdout  # fmt: skip
    assert "(default 8080)" in help_text and "(default 127.0.0.1)" in help_text
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run(
            [sys.executable, "-m", "demo.app", "--port", str(port)],
            cwd=ROOT, env=ENV, capture_output=True, text=True, timeout=30,
        )  # fmt: skip
    assert result.returncode == 1
    lines = [
        line for line in result.stderr.splitlines() if "Traceback" in line or "fallback:" in line
    ]
    assert lines == [f"fallback: cannot listen on 127.0.0.1:{port}: address already in use "
                     "(is another server running there?)"]  # fmt: skip


def test_make_demo_takes_a_port(tmp_path: Path):
    result = subprocess.run(
        ["make", "-n", "demo", "PORT=9123", "HOST=0.0.0.0"],
        cwd=ROOT, capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    assert "-m demo.app --host 0.0.0.0 --port 9123" in result.stdout
