"""The ``fallback serve`` flags: every one with its help text, its default and a check.

Help text is plain (``--help`` prints it as written); a default that comes from
`fallback.Settings` is read from there, so the help cannot drift from the code.
Mistakes end in one line on stderr and exit status 2 (`OneLineParser`).
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from typing import Any, NoReturn

from ..core.settings import Settings
from ..flash.policy import DEFAULT_POLICY_PORT
from ..server import DEFAULT_BODY_TIMEOUT, DEFAULT_IDLE_TIMEOUT, DEFAULT_SHUTDOWN_DRAIN
from ..server.stats import DEFAULT_STATS_ALLOW

#: Exit status for a mistake on the command line or in the configuration.
USAGE_ERROR = 2
#: Exit status for a server that could not start (address in use, unreadable file...).
START_ERROR = 1

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
DEFAULT_PORT = 8080
DEFAULT_HOST = "127.0.0.1"
MAX_PORT = 65535

DESCRIPTION = (
    "Serve a fallback.Connection class over WebSocket and every HTTP fallback transport "
    "(fallback serve module:Class), or the channel server of a TOML file "
    "(fallback serve --config FILE)."
)


class OneLineParser(argparse.ArgumentParser):
    """argparse, but a mistake is one line (``fallback serve: --port: ...``), status 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(USAGE_ERROR, f"{self.prog}: {message} (see {self.prog} --help)\n")


def port_number(value: str) -> int:
    """A TCP port, 1-65535, or 0 for any free one (the start-up line says which)."""
    try:
        port = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port number: {value!r}") from None
    if not 0 <= port <= MAX_PORT:
        raise argparse.ArgumentTypeError(f"a port is 1-{MAX_PORT} (or 0: any free one), not {port}")
    return port


def log_level(value: str) -> str:
    level = value.upper()
    if level not in LOG_LEVELS:
        raise argparse.ArgumentTypeError(
            f"unknown log level {value!r}; use one of {', '.join(LOG_LEVELS)}"
        )
    return level


def _positive(kind: type[int] | type[float]) -> Any:
    def parse(value: str) -> int | float:
        try:
            number = kind(value)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a number: {value!r}") from None
        if number <= 0:
            raise argparse.ArgumentTypeError(f"must be positive, not {value}")
        return number

    parse.__name__ = kind.__name__
    return parse


def csv(value: str) -> list[str]:
    return [item.strip() for item in value.split(",") if item.strip()]


_DEFAULTS = Settings()
#: Settings flags: (setting name, metavar, value type, help).
SETTING_FLAGS: tuple[tuple[str, str, Any, str], ...] = (
    ("heartbeat_delay", "SECONDS", _positive(float), "send a heartbeat after this long idle"),
    ("disconnect_delay", "SECONDS", _positive(float), "forget a session without a poll this long"),
    ("response_limit", "BYTES", _positive(int), "end a streaming response after this many bytes"),
    ("max_message_size", "BYTES", _positive(int), "refuse larger incoming messages (413/1009)"),
    ("max_queue", "MESSAGES", _positive(int), "close a slower client past this many (3008)"),
    ("max_queue_bytes", "BYTES", _positive(int), "close a slower client past this many (3008)"),
    (
        "max_pending_messages",
        "MESSAGES",
        _positive(int),
        "messages waiting for an async on_message, then 3008",
    ),
    ("max_sessions", "SESSIONS", _positive(int), "refuse new sessions past this many (503/1013)"),
)


def _setting_default(name: str) -> str:
    value = getattr(_DEFAULTS, name)
    return f"{value:g}" if isinstance(value, float) else str(value)


def _version() -> str:
    """The package's ``__version__``. Read from the loaded package (which importing this
    module loaded first) rather than imported: the package's top floor imports the CLI's
    floor, not the other way round (tests/unit/test_layers.py)."""
    return str(getattr(sys.modules["fallback"], "__version__", "unknown"))


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(prog="fallback", description=DESCRIPTION)
    parser.add_argument("--version", action="version", version=f"fallback {_version()}")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=OneLineParser)
    serve = commands.add_parser(
        "serve",
        help="serve a Connection class, or the tenants of a TOML file",
        description=DESCRIPTION,
    )
    _serve_arguments(serve)
    from . import admin  # the admin command has its own flags

    admin.add_parser(commands)
    return parser


def _serve_arguments(serve: argparse.ArgumentParser) -> None:
    serve.add_argument(
        "connection", nargs="?", help="the application, as module:ConnectionClass (module.py too)"
    )
    serve.add_argument(
        "--config",
        default=None,
        metavar="FILE",
        help="serve the tenants of a TOML file (channels, tokens, backend API) instead "
        "of a Connection class (default: none)",
    )
    where = serve.add_argument_group("serving")
    where.add_argument(
        "--host", default=None, help=f"address to listen on (default {DEFAULT_HOST})"
    )
    where.add_argument(
        "--port",
        type=port_number,
        default=None,
        help=f"port to listen on, 1-{MAX_PORT}, or 0 for any free one (default {DEFAULT_PORT})",
    )
    where.add_argument("--prefix", default="/", help="URL prefix of the service (default /)")
    where.add_argument(
        "--static",
        default=None,
        metavar="DIR",
        help="also serve the pages in DIR at / (index.html for /; hidden files never); "
        "default: no pages",
    )
    where.add_argument(
        "--static-path",
        default="/static",
        metavar="PATH",
        help="where fallback.js is served, '' for nowhere (default /static)",
    )
    where.add_argument(
        "--certfile",
        default=None,
        metavar="PEM",
        help="serve https and wss with this certificate chain (default: plain http)",
    )
    where.add_argument(
        "--keyfile",
        default=None,
        metavar="PEM",
        help="the private key of --certfile (default: read from the --certfile file)",
    )
    where.add_argument(
        "--health-path",
        default=None,
        metavar="PATH",
        help="readiness at PATH, liveness at PATH/live; 'none' to serve neither "
        "(default: PREFIX/health)",
    )
    where.add_argument(
        "--workers",
        nargs="?",
        const="auto",
        default=None,
        metavar="N",
        help="run N server processes on ports PORT..PORT+N-1; N omitted: one per core (default 1)",
    )
    where.add_argument(
        "--log-level",
        type=log_level,
        default="INFO",
        metavar="LEVEL",
        help=f"{', '.join(LOG_LEVELS)}, any case (default INFO)",
    )
    protocol = serve.add_argument_group("protocol settings (fallback.Settings)")
    for name, metavar, kind, text in SETTING_FLAGS:
        protocol.add_argument(
            "--" + name.replace("_", "-"),
            type=kind,
            default=None,
            metavar=metavar,
            help=f"{text} (default {_setting_default(name)})",
        )
    protocol.add_argument(
        "--disabled-transports",
        type=csv,
        default=None,
        metavar="A,B",
        help="transports not to serve: websocket, xhr_streaming, eventsource, htmlfile, "
        "xhr, jsonp (default: none)",
    )
    protocol.add_argument(
        "--allowed-origins",
        type=csv,
        default=None,
        metavar="A,B",
        help="pages of other sites that may connect (default: the server's own origin "
        "only): https://app.example, app.example:*, *.example, null; '*' opens every "
        "service to every site, with its visitors' cookies",
    )
    protocol.add_argument(
        "--jsessionid",
        action="store_true",
        default=None,
        help="set a JSESSIONID cookie for load balancers that need one (default: off)",
    )
    protocol.add_argument(
        "--no-raw-websocket",
        dest="raw_websocket",
        action="store_false",
        default=None,
        help="do not serve the unframed PREFIX/websocket endpoint (default: served)",
    )
    protocol.add_argument(
        "--sockjs-url",
        default=None,
        metavar="URL",
        help=f"the SockJS client iframe.html loads (default {_DEFAULTS.sockjs_url})",
    )
    _broker_arguments(serve)
    _limit_arguments(serve)
    _flash_arguments(serve)


def _broker_arguments(serve: argparse.ArgumentParser) -> None:
    broker = serve.add_argument_group("channels")
    broker.add_argument(
        "--broker",
        default=None,
        metavar="URL",
        help="channel broker joining processes: redis://host:port/db, rediss:// or "
        "unix:// (needs the redis extra); default: memory://, one process",
    )
    broker.add_argument(
        "--broker-required",
        action="store_true",
        help="refuse to start while the broker is unreachable, and report not ready "
        "when it is lost (default: start anyway, channels stay local meanwhile)",
    )


def _limit_arguments(serve: argparse.ArgumentParser) -> None:
    limits = serve.add_argument_group("connections, shutdown and statistics")
    limits.add_argument(
        "--idle-timeout",
        type=_positive(float),
        default=DEFAULT_IDLE_TIMEOUT,
        metavar="SECONDS",
        help="close connections that wait longer for a request's headers "
        f"(default {DEFAULT_IDLE_TIMEOUT:g})",
    )
    limits.add_argument(
        "--body-timeout",
        type=_positive(float),
        default=DEFAULT_BODY_TIMEOUT,
        metavar="SECONDS",
        help=f"close connections whose request body is slower (default {DEFAULT_BODY_TIMEOUT:g})",
    )
    limits.add_argument(
        "--shutdown-drain",
        type=_positive(float),
        default=DEFAULT_SHUTDOWN_DRAIN,
        metavar="SECONDS",
        help="on SIGTERM, how long clients get to receive what is queued before the "
        f"close (default {DEFAULT_SHUTDOWN_DRAIN:g})",
    )
    limits.add_argument(
        "--stats-path",
        default=None,
        metavar="PATH",
        help="serve statistics as JSON at PATH and as Prometheus text at PATH/metrics "
        "(default: not served)",
    )
    limits.add_argument(
        "--stats-allow",
        default=",".join(DEFAULT_STATS_ALLOW),
        metavar="NET[,NET]",
        help="addresses or networks that may read statistics (default: loopback)",
    )


def _flash_arguments(serve: argparse.ArgumentParser) -> None:
    flash = serve.add_argument_group(
        "Flash socket policy",
        "answered in-band on --port by default; see docs/guides/operations.md",
    )
    flash.add_argument(
        "--flash-policy-port",
        type=port_number,
        nargs="?",
        const=DEFAULT_POLICY_PORT,
        default=None,
        metavar="PORT",
        help=f"also serve the policy on this port (alone: {DEFAULT_POLICY_PORT}, which "
        "needs root or CAP_NET_BIND_SERVICE); default: only in-band",
    )
    flash.add_argument(
        "--flash-policy-domain",
        dest="flash_policy_domains",
        action="append",
        type=csv,
        default=None,
        metavar="DOMAIN[,DOMAIN]",
        help="page domain allowed by the policy (repeatable; default: the hosts of "
        "--allowed-origins)",
    )
    flash.add_argument(
        "--flash-policy-ports",
        default=None,
        metavar="PORTS",
        help="to-ports the policy grants: 8080, 8000-8003, 80,443 or * (default: --port; "
        "with --workers, all the workers' ports)",
    )
    # Set by the --workers supervisor: every worker binds the policy port (SO_REUSEPORT).
    flash.add_argument("--flash-policy-reuse-port", action="store_true", help=argparse.SUPPRESS)
    # Set by the --workers supervisor: this process is one worker (log lines say so).
    flash.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    flash.add_argument(
        "--no-flash-policy",
        dest="flash_policy",
        action="store_false",
        help="do not answer policy requests on --port (default: answered)",
    )


def setting_names() -> tuple[str, ...]:
    """The `Settings` fields the flags set (their dest names)."""
    names = [name for name, *_ in SETTING_FLAGS]
    names += ["disabled_transports", "allowed_origins", "jsessionid", "raw_websocket"]
    names.append("sockjs_url")
    known = {field.name for field in dataclasses.fields(Settings)}
    assert set(names) <= known
    return tuple(names)


def fail(message: str, status: int = USAGE_ERROR) -> int:
    """Print `message` as the one line a mistake gets; returns `status`."""
    print(f"fallback: {message}", file=sys.stderr)
    return status
