"""The command line: ``python -m fallback serve module:ConnectionClass --prefix /echo``."""

from __future__ import annotations

import argparse
import asyncio
import importlib
import logging
import os
import signal
import sys
from typing import Any

from .. import channels
from ..app.connection import Connection
from ..core.logsafe import get_logger
from ..exceptions import ConfigurationError
from ..flash.policy import DEFAULT_POLICY_PORT
from ..flash.server import InBandPolicyHTTPServer
from ..realtime import ServerConfig, build_application, load_config
from ..server import (
    DEFAULT_BODY_TIMEOUT,
    DEFAULT_IDLE_TIMEOUT,
    DEFAULT_SHUTDOWN_DRAIN,
    listen,
    make_application,
    shutdown,
)
from ..server.router import Router
from ..server.stats import DEFAULT_STATS_ALLOW
from ..server.workers import default_worker_count, supervise
from . import admin

log = get_logger("fallback")


def load_object(spec: str) -> Any:
    """``package.module:Name`` -> the object."""
    module_name, _, attribute = spec.partition(":")
    if not module_name or not attribute:
        raise ConfigurationError(f"{spec!r} is not of the form module:ConnectionClass")
    if os.getcwd() not in sys.path:  # the console script does not put it there
        sys.path.insert(0, os.getcwd())
    try:
        module = importlib.import_module(module_name)
    except ImportError as error:
        raise ConfigurationError(f"cannot import {module_name!r}: {error}") from error
    obj: Any = module
    for part in attribute.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            raise ConfigurationError(f"{module_name!r} has no {attribute!r}") from None
    return obj


def _csv(value: str) -> list[str]:
    return [item.strip() for item in value.split(",") if item.strip()]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="fallback", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="serve a Connection class over every transport")
    serve.add_argument("connection", nargs="?", help="module:ConnectionClass")
    serve.add_argument(
        "--config",
        default=None,
        metavar="FILE",
        help="serve the tenants of a TOML file (channels, tokens, backend API) instead",
    )
    serve.add_argument("--prefix", default="/", help="URL prefix (default /)")
    serve.add_argument("--host", default=None, help="address to bind (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=None, help="port (default 8080)")
    serve.add_argument(
        "--static-path", default="/static", help="where fallback.js is served ('' for nowhere)"
    )
    serve.add_argument("--heartbeat-delay", type=float, default=None, metavar="SECONDS")
    serve.add_argument("--disconnect-delay", type=float, default=None, metavar="SECONDS")
    serve.add_argument("--response-limit", type=int, default=None, metavar="BYTES")
    serve.add_argument("--max-message-size", type=int, default=None, metavar="BYTES")
    serve.add_argument("--max-queue", type=int, default=None, metavar="MESSAGES")
    serve.add_argument("--max-queue-bytes", type=int, default=None, metavar="BYTES")
    serve.add_argument("--max-sessions", type=int, default=None, metavar="SESSIONS")
    serve.add_argument("--disabled-transports", type=_csv, default=None, metavar="A,B")
    serve.add_argument(
        "--allowed-origins",
        type=_csv,
        default=None,
        metavar="A,B",
        help="pages of other sites that may connect (default: the server's own origin "
        "only): https://app.example, app.example:*, *.example, null; '*' opens every "
        "service to every site, with its visitors' cookies",
    )
    serve.add_argument("--jsessionid", action="store_true", default=None)
    serve.add_argument(
        "--no-raw-websocket", dest="raw_websocket", action="store_false", default=None
    )
    serve.add_argument("--sockjs-url", default=None, metavar="URL")
    serve.add_argument(
        "--broker",
        default=None,
        metavar="URL",
        help="channel broker joining processes: redis://host:port/db (default: in memory)",
    )
    serve.add_argument(
        "--workers",
        nargs="?",
        const="auto",
        default=None,
        metavar="N",
        help="run N server processes on ports PORT..PORT+N-1 (no N: one per core)",
    )
    limits = serve.add_argument_group("connections, shutdown and statistics")
    limits.add_argument(
        "--idle-timeout",
        type=float,
        default=DEFAULT_IDLE_TIMEOUT,
        metavar="SECONDS",
        help="close connections that wait longer for a request's headers "
        f"(default {DEFAULT_IDLE_TIMEOUT:g})",
    )
    limits.add_argument(
        "--body-timeout",
        type=float,
        default=DEFAULT_BODY_TIMEOUT,
        metavar="SECONDS",
        help=f"close connections whose request body is slower (default {DEFAULT_BODY_TIMEOUT:g})",
    )
    limits.add_argument(
        "--shutdown-drain",
        type=float,
        default=DEFAULT_SHUTDOWN_DRAIN,
        metavar="SECONDS",
        help="on SIGTERM, how long clients get to receive what is queued before the "
        f"close (default {DEFAULT_SHUTDOWN_DRAIN:g})",
    )
    limits.add_argument(
        "--stats-path",
        default=None,
        metavar="PATH",
        help="serve statistics as JSON at PATH and as Prometheus text at PATH/metrics",
    )
    limits.add_argument(
        "--stats-allow",
        default=",".join(DEFAULT_STATS_ALLOW),
        metavar="NET[,NET]",
        help="addresses or networks that may read statistics (default: loopback)",
    )
    flash = serve.add_argument_group(
        "Flash socket policy",
        "answered in-band on --port by default; see 'Flash socket policy' in the README",
    )
    flash.add_argument(
        "--flash-policy-port",
        type=int,
        nargs="?",
        const=DEFAULT_POLICY_PORT,
        default=None,
        metavar="PORT",
        help=f"also serve the policy on this port (alone: {DEFAULT_POLICY_PORT}, which "
        "needs root or CAP_NET_BIND_SERVICE)",
    )
    flash.add_argument(
        "--flash-policy-domain",
        dest="flash_policy_domains",
        action="append",
        type=_csv,
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
    flash.add_argument(
        "--no-flash-policy",
        dest="flash_policy",
        action="store_false",
        help="do not answer policy requests on --port",
    )
    serve.add_argument("--log-level", default="INFO")
    admin.add_parser(commands)
    return parser


def _worker_count(value: str) -> int:
    if value == "auto":
        return default_worker_count()
    try:
        count = int(value)
    except ValueError:
        raise ConfigurationError(f"--workers takes a number, not {value!r}") from None
    if count < 1:
        raise ConfigurationError("--workers must be at least 1")
    return count


def _without_options(
    argv: list[str], names: tuple[str, ...], optional_value: tuple[str, ...]
) -> list[str]:
    """`argv` minus the given options and their values."""
    result: list[str] = []
    skip = False
    for i, arg in enumerate(argv):
        if skip:
            skip = False
            continue
        name = arg.split("=", 1)[0]
        if name in names:
            if "=" not in arg:
                has_value = i + 1 < len(argv) and not argv[i + 1].startswith("-")
                skip = has_value if name in optional_value else True
            continue
        result.append(arg)
    return result


def _flash_policy_worker_args(args: argparse.Namespace, workers: int) -> list[str]:
    """Workers share one policy: it grants all their ports, and each binds the policy port
    with SO_REUSEPORT (the kernel spreads policy clients over them)."""
    extra: list[str] = []
    if args.flash_policy_ports is None:
        extra += ["--flash-policy-ports", f"{args.port}-{args.port + workers - 1}"]
    if args.flash_policy_port is not None:
        extra.append("--flash-policy-reuse-port")
    return extra


_SETTING_FLAGS = (
    "heartbeat_delay",
    "disconnect_delay",
    "response_limit",
    "max_message_size",
    "max_queue",
    "max_queue_bytes",
    "max_sessions",
    "disabled_transports",
    "allowed_origins",
    "jsessionid",
    "raw_websocket",
    "sockjs_url",
)


def _apply_config(args: argparse.Namespace) -> ServerConfig | None:
    """Read ``--config``; command-line flags win over the file's [server] values."""
    config = load_config(args.config) if args.config else None
    if config is None and not args.connection:
        raise ConfigurationError("serve needs module:ConnectionClass or --config FILE")
    if config is not None and args.connection:
        raise ConfigurationError("give either module:ConnectionClass or --config, not both")
    args.host = args.host or (config.host if config else "127.0.0.1")
    args.port = args.port if args.port is not None else (config.port if config else 8080)
    if config is not None:
        args.broker = args.broker or config.broker
    if args.workers is None:
        args.workers = config.workers if config is not None else "1"
    return config


def _flash_policy_options(args: argparse.Namespace) -> dict[str, Any]:
    """The Flash policy flags as `listen` keywords."""
    domains = (
        None
        if args.flash_policy_domains is None
        else [domain for group in args.flash_policy_domains for domain in group]
    )
    return {
        "flash_policy": args.flash_policy,
        "flash_policy_port": args.flash_policy_port,
        "flash_policy_domains": domains,
        "flash_policy_ports": args.flash_policy_ports,
        "flash_policy_reuse_port": args.flash_policy_reuse_port,
    }


def _server_options(args: argparse.Namespace) -> dict[str, Any]:
    """`listen` keywords: the Flash policy flags and the connection deadlines."""
    return {
        **_flash_policy_options(args),
        "idle_connection_timeout": args.idle_timeout,
        "body_timeout": args.body_timeout,
    }


def _stats_options(args: argparse.Namespace) -> dict[str, Any]:
    return {"stats": args.stats_path, "stats_allow": args.stats_allow}


def _stop_on_signals() -> asyncio.Event:
    """An event set by the first SIGINT or SIGTERM."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    return stop


def _log_policy_server(server: InBandPolicyHTTPServer) -> None:
    if server.policy_server is not None:
        log.info(
            "Flash socket policy served on port %s",
            ",".join(str(port) for port in server.policy_server.ports),
        )


async def _serve_config(args: argparse.Namespace, config: ServerConfig) -> None:
    app, runtimes = build_application(config, **_stats_options(args))
    await channels.start(args.broker)
    for runtime in runtimes:
        await runtime.start()
    server = listen(app, args.port, args.host, **_server_options(args))
    stop = _stop_on_signals()
    for runtime in runtimes:
        log.info(
            "fallback serving tenant %s on http://%s:%d%s",
            runtime.tenant.name,
            args.host,
            args.port,
            runtime.tenant.prefix,
        )
    _log_policy_server(server)
    await stop.wait()
    await shutdown(app, [server], deadline=args.shutdown_drain)
    for runtime in runtimes:
        await runtime.stop()
    await channels.hub().stop()


async def _serve(args: argparse.Namespace) -> None:
    connection_class = load_object(args.connection)
    if not (isinstance(connection_class, type) and issubclass(connection_class, Connection)):
        raise ConfigurationError(f"{args.connection} is not a fallback.Connection subclass")
    settings = {
        name: getattr(args, name) for name in _SETTING_FLAGS if getattr(args, name) is not None
    }
    router = Router(connection_class, args.prefix, **settings)
    app = make_application(router, static_path=args.static_path or None, **_stats_options(args))
    if args.broker:
        await channels.start(args.broker)
    server = listen(app, args.port, args.host, **_server_options(args))
    stop = _stop_on_signals()
    log.info(
        "fallback serving %s on http://%s:%d%s",
        args.connection,
        args.host,
        server.ports[0] if server.ports else args.port,
        router.prefix or "/",
    )
    _log_policy_server(server)
    if args.stats_path:
        log.info("statistics at %s (JSON) and %s/metrics", args.stats_path, args.stats_path)
    await stop.wait()
    await shutdown(app, [server], deadline=args.shutdown_drain)
    await channels.hub().stop()


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=getattr(logging, str(getattr(args, "log_level", "INFO")).upper(), logging.INFO),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        if args.command == "admin":
            return admin.run(args)
        if args.command == "serve":
            config = _apply_config(args)
            workers = _worker_count(args.workers)
            if workers > 1:
                serve_args = _without_options(
                    list(sys.argv[1:] if argv is None else argv)[1:],
                    ("--workers", "--port"),
                    ("--workers",),
                )
                serve_args += _flash_policy_worker_args(args, workers)
                if not args.broker:
                    log.warning(
                        "%d workers without --broker: channels stay in each process", workers
                    )
                serve_args += ["--workers", "1"]
                return supervise(serve_args, workers, args.port)
            if config is not None:
                asyncio.run(_serve_config(args, config))
            else:
                asyncio.run(_serve(args))
    except ConfigurationError as error:
        print(f"fallback: {error}", file=sys.stderr)
        return 2
    except OSError as error:
        print(f"fallback: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
