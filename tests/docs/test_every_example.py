"""Every code example in README.md and docs/ is run, or checked against what it shows.

`EXAMPLES` names, for each fenced block of the documentation, the test that runs it (here or
elsewhere); a block nobody claims fails `test_every_example_is_claimed`, so a new example
cannot be added without its test. Blocks that are not code -- output samples, diagrams,
Sphinx directives -- are labelled ``text`` (or are directives) and need no claim.
"""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.docs.corpus import TEXTS
from tests.docs.test_readme_examples import Process
from tests.support.processes import ROOT, RedisServer, free_port
from tests.support.sockjs import client_for

pytestmark = pytest.mark.timeout(120)

FENCE = re.compile(r"^```(\S*)\n(.*?)^```", re.S | re.M)
#: Not examples: what a reader looks at, not what a reader runs.
NOT_CODE = {"text", "{toctree}", "{eval-rst}", "{include}"}


def examples() -> list[tuple[str, str, str]]:
    """(file, language, code) of every fenced block that is code."""
    found = []
    for path, text in TEXTS.items():
        for match in FENCE.finditer(text):
            if match.group(1) not in NOT_CODE:
                found.append((str(path.relative_to(ROOT)), match.group(1), match.group(2)))
    return found


def key(file: str, language: str, code: str) -> str:
    return f"{file} {language}: {code.strip().splitlines()[0]}"


#: Each block (its file, language and first line) and the test that runs it.
EXAMPLES = {
    "README.md sh: make demo   # creates .venv, installs, serves the demo chat on http://127.0.0.1:8080": "test_make_targets_exist",
    "README.md python: from fallback import Connection, broadcast": "tests/docs/test_readme_examples.py::test_the_quick_start_serves_a_chat_room",
    "README.md html: <!doctype html>": "tests/docs/test_readme_examples.py::test_the_quick_start_serves_a_chat_room, tests/browser/test_readme_snippets.py::test_the_quick_start_page_chats_between_two_browsers",
    "README.md sh: python -m fallback serve chat:Chat --prefix /chat --static public --port 8080": "tests/docs/test_readme_examples.py::test_the_quick_start_serves_a_chat_room",
    "docs/guides/first-app.md python: import asyncio": "tests/docs/test_readme_examples.py::test_the_async_room_keeps_each_connections_order",
    "docs/guides/operations.md sh: python -m fallback serve chat:Chat --prefix /chat --port 8080 --broker redis://127.0.0.1:6379/0 --broker-required": "test_the_serve_commands_start",
    "docs/guides/first-app.md python: import asyncio, tornado.web": "tests/docs/test_readme_examples.py::test_the_fifteen_line_server_broadcasts_to_everyone",
    "docs/guides/first-app.md python: from fallback import Connection": "tests/docs/test_binary_example.py::test_the_binary_example_echoes_text_and_reversed_bytes",
    "docs/guides/channels.md python: from fallback import Connection, channels": "tests/docs/test_readme_examples.py::test_the_channels_example_serves_a_room",
    "docs/guides/channels.md toml: # fallback.toml — python -m fallback serve --config fallback.toml": "tests/docs/test_readme_examples.py::test_a_curl_backend_publishes_to_browsers_with_the_readme_config",
    "docs/guides/channels.md sh: curl -s http://127.0.0.1:8080/acme/api/publish \\": "tests/docs/test_readme_examples.py::test_a_curl_backend_publishes_to_browsers_with_the_readme_config",
    "docs/guides/channels.md toml: [tenants.acme]": "tests/realtime/test_history.py::test_the_documented_history_config_parses_into_these_rules",
    'docs/guides/channels.md js: var sub = sock.subscribe("news-eu", function (data, e) {': "tests/browser/test_recovery.py::test_the_documented_saved_position_snippet_recovers_across_a_reload",
    'docs/guides/channels.md js: jwt.sign({sub: "ann", tenant: "acme", channels: "presence-team-*", info: {name: "Ann"}},': "test_the_jsonwebtoken_call_makes_a_token_we_accept",
    "docs/guides/flash.md sh: python -m fallback serve chat:Chat --host 0.0.0.0 --port 8080 --flash-policy-port 8843": "test_the_serve_commands_start",
    "docs/guides/operations.md sh: python -m fallback serve app:Chat --prefix /chat --stats-path /_stats --stats-allow 127.0.0.1,10.0.0.0/8": "test_the_serve_commands_start",
    "docs/guides/operations.md python: from fallback.server import listen, make_application, shutdown": "test_the_shutdown_example_drains_and_returns",
    "docs/guides/scaling.md sh: python -m fallback serve chat:Room --prefix /chat --port 8080 --workers 3 --broker redis://127.0.0.1:6379/0": "test_the_serve_commands_start",
    "docs/guides/scaling.md nginx: map $uri $fallback_session {": "test_the_nginx_example_is_the_shipped_configuration",
    'docs/guides/shim.md html: <script src="/chat/fallback.js"></script>': "tests/browser/test_readme_snippets.py (The browser shim)",
    'docs/guides/shim.md html: <script src="/chat/fallback.js" data-fallback-websocket></script>': "tests/browser/test_readme_snippets.py (Drop-in mode)",
    'docs/guides/shim.md html: <script src="/chat/fallback.js" data-flash-swf="/js/WebSocketMain.swf"': "tests/browser/test_readme_snippets.py (Flash)",
    "docs/guides/migrating.md python: from sockjs.tornado import SockJSConnection, SockJSRouter                # before": "test_the_migration_import_works",
}


def blocks(pattern: str) -> list[str]:
    return [
        code for file, language, code in examples() if re.search(pattern, key(file, language, code))
    ]


def test_every_example_is_claimed():
    found = {key(*example) for example in examples()}
    assert found - set(EXAMPLES) == set(), "examples no test runs (add them to EXAMPLES)"
    assert set(EXAMPLES) - found == set(), "EXAMPLES names blocks the docs no longer have"


def test_make_targets_exist():
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    for code in blocks(r" sh: make "):
        for target in re.findall(r"^make (\S+)", code, re.M):
            assert re.search(rf"^{re.escape(target)}:", makefile, re.M), target


CHAT = """
from fallback import Connection, broadcast, channels

class Chat(Connection):
    members = set()
    def on_open(self, info):
        self.members.add(self)
    def on_message(self, text):
        broadcast(self.members, text)
    def on_close(self):
        self.members.discard(self)

class Room(Connection):
    def on_open(self, info):
        channels.join(self, "room")
    def on_message(self, text):
        channels.publish("room", text)
"""


@pytest.mark.parametrize(
    "code", blocks(r" sh: python -m fallback serve (?!chat:Chat --prefix /chat --static public)")
)
def test_the_serve_commands_start(tmp_path: Path, code: str, redis_server: RedisServer) -> None:
    # The commands as shown, with a free port (and the test's Redis): they start, serve
    # the SockJS service, and echo or broadcast what a client sends.
    (tmp_path / "chat.py").write_text(CHAT)
    (tmp_path / "app.py").write_text(CHAT)
    command = next(line for line in code.splitlines() if line.startswith("python -m fallback"))
    port = free_port()
    if "--port" not in command:
        command += " --port 8080"  # (shown without one: the default, 8080)
    args = (
        command.replace("python", sys.executable, 1)
        .replace("--port 8080", f"--port {port}")
        .replace("--flash-policy-port 8843", f"--flash-policy-port {free_port()}")
        .replace("redis://127.0.0.1:6379/0", redis_server.url)
    ).split()
    prefix = m.group(1) if (m := re.search(r"--prefix (\S+)", command)) else ""
    server = Process(args, f"http://127.0.0.1:{port}{prefix}/info", path=[tmp_path])
    client = client_for("xhr", f"http://127.0.0.1:{port}{prefix}")
    try:
        assert client.next_frame() == "o"
        client.send("ping")
        assert client.receive_messages(1) == ["ping"]
    finally:
        client.close()
        server.stop()


def test_the_shutdown_example_drains_and_returns() -> None:
    (code,) = blocks(r"operations.md python: from fallback.server import listen")
    port = free_port()
    assert "listen(app, 8080)" in code and "..." in code
    program = (
        "from fallback import Connection, Router\n"
        "routers = [Router(Connection, '/echo')]\n"
        "async def main():\n"
        + "".join(
            "    " + line.replace("listen(app, 8080)", f"listen(app, {port})") + "\n"
            for line in code.splitlines()
            if line.strip() and not line.lstrip().startswith("...")
        )
    )
    namespace: dict[str, object] = {}
    exec(compile(program, "operations.md", "exec"), namespace)
    asyncio.run(asyncio.wait_for(namespace["main"](), 30))  # type: ignore[operator]


def test_the_migration_import_works() -> None:
    (code,) = blocks(r"migrating.md python: ")
    after = [line.split("#")[0] for line in code.splitlines() if "fallback.compat" in line]
    assert after, code
    for line in after:
        exec(line, {})


def nginx_statements(text: str) -> list[str]:
    """The directives of an nginx configuration, comments and layout aside."""
    text = re.sub(r"#.*", "", text)
    return [" ".join(part.split()) for part in re.split(r"[;{}]", text) if part.strip()]


def test_the_nginx_example_is_the_shipped_configuration() -> None:
    # The shipped file is the one tested against a real nginx (tests/scale).
    (code,) = blocks(r"scaling.md nginx: ")
    shipped = nginx_statements((ROOT / "deploy" / "nginx" / "fallback.conf").read_text())
    for statement in nginx_statements(code):
        assert statement in shipped, statement


def test_the_jsonwebtoken_call_makes_a_token_we_accept() -> None:
    from fallback.realtime import tokens

    (code,) = blocks(r"channels.md js: jwt.sign")
    secret = "a secret of thirty-two bytes or more!"
    script = (
        f"var jwt = require('jsonwebtoken'); var secret = {json.dumps(secret)};\n"
        f"process.stdout.write({code.strip().rstrip(';')});"
    )
    done = subprocess.run(
        ["node", "-e", script],
        capture_output=True,
        text=True,
        timeout=30,
        cwd=ROOT / "tests" / "interop",
        check=True,
    )
    claims = tokens.verify(secret, done.stdout, tenant="acme")
    assert claims.user_id == "ann" and claims.allows("presence-team-7")
