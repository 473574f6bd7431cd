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

from .connection import Connection
from .exceptions import ConfigurationError
from .router import Router
from .server import listen, make_application

log = logging.getLogger("fallback")


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
    serve.add_argument("connection", help="module:ConnectionClass")
    serve.add_argument("--prefix", default="/", help="URL prefix (default /)")
    serve.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8080, help="port (default 8080)")
    serve.add_argument(
        "--static-path", default="/static", help="where fallback.js is served ('' for nowhere)"
    )
    serve.add_argument("--heartbeat-delay", type=float, default=None, metavar="SECONDS")
    serve.add_argument("--disconnect-delay", type=float, default=None, metavar="SECONDS")
    serve.add_argument("--response-limit", type=int, default=None, metavar="BYTES")
    serve.add_argument("--max-message-size", type=int, default=None, metavar="BYTES")
    serve.add_argument("--max-queue", type=int, default=None, metavar="MESSAGES")
    serve.add_argument("--disabled-transports", type=_csv, default=None, metavar="A,B")
    serve.add_argument("--allowed-origins", type=_csv, default=None, metavar="A,B")
    serve.add_argument("--jsessionid", action="store_true", default=None)
    serve.add_argument(
        "--no-raw-websocket", dest="raw_websocket", action="store_false", default=None
    )
    serve.add_argument("--sockjs-url", default=None, metavar="URL")
    serve.add_argument("--log-level", default="INFO")
    return parser


_SETTING_FLAGS = (
    "heartbeat_delay",
    "disconnect_delay",
    "response_limit",
    "max_message_size",
    "max_queue",
    "disabled_transports",
    "allowed_origins",
    "jsessionid",
    "raw_websocket",
    "sockjs_url",
)


async def _serve(args: argparse.Namespace) -> None:
    connection_class = load_object(args.connection)
    if not (isinstance(connection_class, type) and issubclass(connection_class, Connection)):
        raise ConfigurationError(f"{args.connection} is not a fallback.Connection subclass")
    settings = {
        name: getattr(args, name) for name in _SETTING_FLAGS if getattr(args, name) is not None
    }
    router = Router(connection_class, args.prefix, **settings)
    app = make_application(router, static_path=args.static_path or None)
    server = listen(app, args.port, args.host)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    log.info(
        "fallback serving %s on http://%s:%d%s",
        args.connection,
        args.host,
        args.port,
        router.prefix or "/",
    )
    await stop.wait()
    server.stop()
    router.service.registry.close_all(1001)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=getattr(logging, str(args.log_level).upper(), logging.INFO),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        if args.command == "serve":
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
