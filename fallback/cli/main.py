"""The command line: ``fallback serve module:Class`` (flags in `fallback.cli.options`).

Every mistake an operator can make ends in one line on stderr and a non-zero status:
2 for the command line or the configuration, 1 for a server that could not start
(an address in use, a certificate that cannot be read, an unreachable required broker).
"""

from __future__ import annotations

import argparse
import asyncio
import errno
import importlib
import importlib.util
import logging
import os
import signal
import socket
import ssl
import sys
from typing import Any

from .. import channels
from ..app.connection import Connection
from ..core.logsafe import get_logger
from ..exceptions import ConfigurationError
from ..flash.server import InBandPolicyHTTPServer
from ..realtime import ServerConfig, build_application, load_config
from ..server import listen, make_application, shutdown
from ..server.router import Router
from ..server.workers import default_worker_count, supervise
from . import admin
from .options import (
    DEFAULT_HOST,
    DEFAULT_PORT,
    MAX_PORT,
    START_ERROR,
    USAGE_ERROR,
    build_parser,
    fail,
    setting_names,
)

log = get_logger("fallback")

__all__ = ["StartError", "build_parser", "listen_or_explain", "load_object", "main"]

#: How long ``--broker-required`` waits for the broker at start-up.
BROKER_START_WAIT = 5.0


class StartError(Exception):
    """The server could not start (exit status 1); the message is the one line shown."""


def load_object(spec: str) -> Any:
    """``package.module:Name`` or ``path/to/module.py:Name`` -> the object."""
    module_name, _, attribute = spec.rpartition(":")
    if not module_name or not attribute:
        raise ConfigurationError(f"{spec!r} is not of the form module:ConnectionClass")
    if os.getcwd() not in sys.path:  # the console script does not put it there
        sys.path.insert(0, os.getcwd())
    try:
        if module_name.endswith(".py") or os.sep in module_name:
            module = _import_file(module_name)
        else:
            module = importlib.import_module(module_name)
    except (ImportError, SyntaxError) as error:
        raise ConfigurationError(f"cannot import {module_name!r}: {error}") from error
    obj: Any = module
    for part in attribute.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            raise ConfigurationError(f"{module_name!r} has no {attribute!r}") from None
    return obj


def _import_file(path: str) -> Any:
    """Import ``./chat.py`` as module ``chat`` (its folder joins ``sys.path``, so its own
    imports of its neighbours work)."""
    if not os.path.isfile(path):
        raise ConfigurationError(f"cannot import {path!r}: no such file")
    folder, name = os.path.split(os.path.abspath(path))
    if folder not in sys.path:
        sys.path.insert(0, folder)
    module_name = name.removesuffix(".py")
    spec = importlib.util.spec_from_file_location(module_name, os.path.abspath(path))
    if spec is None or spec.loader is None:
        raise ConfigurationError(f"cannot import {path!r}: not a Python module")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    spec.loader.exec_module(module)
    return module


def check_broker(url: str | None) -> None:
    """Refuse a broker URL that cannot work, before anything starts (and without
    repeating the URL, which may hold a password)."""
    if not url or url.startswith("memory:"):
        return
    scheme = url.split(":", 1)[0] if ":" in url else url
    if url.startswith(("redis://", "rediss://", "unix://")):
        try:
            importlib.import_module("redis.asyncio")
        except ImportError:
            raise ConfigurationError(
                f"--broker {scheme}://...: the Redis broker needs the redis extra "
                "(pip install 'fallback[redis]')"
            ) from None
        return
    raise ConfigurationError(
        f"--broker: unknown scheme {scheme!r}; use memory://, redis://host:port/db, "
        "rediss://host:port/db or unix:///path/to/redis.sock"
    )


def tls_context(certfile: str | None, keyfile: str | None) -> ssl.SSLContext | None:
    """The server's TLS context (https and wss), or None for plain http."""
    if certfile is None:
        if keyfile is not None:
            raise ConfigurationError("--keyfile needs --certfile")
        return None
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    try:
        context.load_cert_chain(certfile, keyfile)
    except FileNotFoundError as error:
        raise StartError(f"cannot read {error.filename or certfile}: no such file") from None
    except ssl.SSLError as error:
        raise StartError(
            f"--certfile {certfile}: not a PEM certificate with its private key "
            f"({error.reason or error})"
        ) from None
    except OSError as error:
        raise StartError(f"cannot read {certfile}: {error.strerror}") from None
    return context


def _apply_config(args: argparse.Namespace) -> ServerConfig | None:
    """Read ``--config``; command-line flags win over the file's [server] values."""
    config = load_config(args.config) if args.config else None
    if config is None and not args.connection:
        raise ConfigurationError("serve needs module:ConnectionClass or --config FILE")
    if config is not None and args.connection:
        raise ConfigurationError("give either module:ConnectionClass or --config, not both")
    args.host = args.host or (config.host if config else DEFAULT_HOST)
    args.port = args.port if args.port is not None else (config.port if config else DEFAULT_PORT)
    if config is not None:
        args.broker = args.broker or config.broker
    if args.workers is None:
        args.workers = config.workers if config is not None else "1"
    if args.health_path is None:
        prefix = "" if config is not None else args.prefix.rstrip("/")
        args.health_path = prefix + "/health"
    check_broker(args.broker)
    return config


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


def _server_options(args: argparse.Namespace) -> dict[str, Any]:
    """`listen` keywords: TLS, the Flash policy flags and the connection deadlines."""
    domains = (
        None
        if args.flash_policy_domains is None
        else [domain for group in args.flash_policy_domains for domain in group]
    )
    options: dict[str, Any] = {
        "flash_policy": args.flash_policy,
        "flash_policy_port": args.flash_policy_port,
        "flash_policy_domains": domains,
        "flash_policy_ports": args.flash_policy_ports,
        "flash_policy_reuse_port": args.flash_policy_reuse_port,
        "idle_connection_timeout": args.idle_timeout,
        "body_timeout": args.body_timeout,
    }
    context = tls_context(args.certfile, args.keyfile)
    if context is not None:
        options["ssl_options"] = context
    return options


def _app_options(args: argparse.Namespace) -> dict[str, Any]:
    health = args.health_path
    return {
        "stats": args.stats_path,
        "stats_allow": args.stats_allow,
        "health": None if health in ("", "none") else health,
        "broker_required": args.broker_required,
        "pages": args.static,
    }


def _listen(app: Any, args: argparse.Namespace) -> InBandPolicyHTTPServer:
    return listen_or_explain(app, args.port, args.host, **_server_options(args))


def listen_or_explain(app: Any, port: int, host: str, **options: Any) -> InBandPolicyHTTPServer:
    """`listen`, with the failures an operator meets as one `StartError` line that
    names the address (the demo uses it too)."""
    where = f"{host}:{port}"
    try:
        return listen(app, port, host, **options)
    except socket.gaierror:
        raise StartError(f"cannot listen on {where}: unknown host {host!r}") from None
    except OSError as error:
        if error.errno == errno.EADDRINUSE:
            reason = "address already in use (is another server running there?)"
        elif error.errno in (errno.EACCES, errno.EPERM) and port < 1024:
            reason = "permission denied (ports below 1024 need root or CAP_NET_BIND_SERVICE)"
        elif error.errno == errno.EADDRNOTAVAIL:
            reason = "this machine has no such address"
        else:
            reason = error.strerror or str(error)
        if "policy port" in str(error):  # listen's own message for the Flash policy port
            raise StartError(str(error.strerror or error)) from None
        raise StartError(f"cannot listen on {where}: {reason}") from None


async def _start_broker(args: argparse.Namespace) -> None:
    if not args.broker:
        return
    hub = await channels.start(args.broker)
    if not args.broker_required:
        return
    loop = asyncio.get_running_loop()
    deadline = loop.time() + BROKER_START_WAIT
    while not hub.broker.stats.connected and loop.time() < deadline:
        await asyncio.sleep(0.1)
    if not hub.broker.stats.connected:
        await hub.stop()
        scheme = args.broker.split(":", 1)[0]
        raise StartError(
            f"--broker-required: the {scheme} broker is unreachable "
            f"(waited {BROKER_START_WAIT:g} s); not starting"
        )


def _stop_on_signals() -> asyncio.Event:
    """An event set by the first SIGINT or SIGTERM."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    return stop


def _announce(
    args: argparse.Namespace, server: InBandPolicyHTTPServer, what: str, path: str
) -> None:
    scheme = "https" if args.certfile else "http"
    port = server.ports[0] if server.ports else args.port
    log.info("fallback serving %s on %s://%s:%d%s", what, scheme, args.host, port, path)


def _announce_extras(args: argparse.Namespace, server: InBandPolicyHTTPServer) -> None:
    if server.policy_server is not None:
        log.info(
            "Flash socket policy served on port %s",
            ",".join(str(port) for port in server.policy_server.ports),
        )
    if args.stats_path:
        log.info("statistics at %s (JSON) and %s/metrics", args.stats_path, args.stats_path)
    health = _app_options(args)["health"]
    if health:
        log.info("health at %s (readiness) and %s/live", health, health.rstrip("/"))
    if args.static:
        log.info("pages from %s at /", args.static)


async def _serve_config(args: argparse.Namespace, config: ServerConfig) -> None:
    app, runtimes = build_application(config, **_app_options(args))
    await _start_broker(args)
    for runtime in runtimes:
        await runtime.start()
    server = _listen(app, args)
    stop = _stop_on_signals()
    for runtime in runtimes:
        _announce(args, server, f"tenant {runtime.tenant.name}", runtime.tenant.prefix)
    _announce_extras(args, server)
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
        name: getattr(args, name) for name in setting_names() if getattr(args, name) is not None
    }
    router = Router(connection_class, args.prefix, **settings)
    app = make_application(router, static_path=args.static_path or None, **_app_options(args))
    await _start_broker(args)
    server = _listen(app, args)
    stop = _stop_on_signals()
    _announce(args, server, args.connection, router.prefix or "/")
    _announce_extras(args, server)
    await stop.wait()
    await shutdown(app, [server], deadline=args.shutdown_drain)
    await channels.hub().stop()


def _log_format(args: argparse.Namespace) -> str:
    """Worker processes say which they are in every line (their port)."""
    if getattr(args, "worker", False):
        return f"%(asctime)s %(levelname)s [port {args.port}] %(name)s: %(message)s"
    return "%(asctime)s %(levelname)s %(name)s: %(message)s"


def _supervise(args: argparse.Namespace, argv: list[str] | None, workers: int) -> int:
    serve_args = _without_options(
        list(sys.argv[1:] if argv is None else argv)[1:],
        ("--workers", "--port"),
        ("--workers",),
    )
    serve_args += _flash_policy_worker_args(args, workers)
    if not args.broker:
        log.warning("%d workers without --broker: channels stay in each process", workers)
    serve_args += ["--workers", "1", "--worker"]
    return supervise(serve_args, workers, args.port)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=getattr(logging, str(getattr(args, "log_level", "INFO"))),
        format=_log_format(args) if args.command == "serve" else "%(levelname)s %(message)s",
    )
    try:
        if args.command == "admin":
            return admin.run(args)
        config = _apply_config(args)
        workers = _worker_count(args.workers)
        if workers > 1:
            if args.port == 0 or args.port + workers - 1 > MAX_PORT:
                raise ConfigurationError(
                    f"--workers {workers} need ports {args.port}-{args.port + workers - 1}: "
                    f"give a --port from 1 to {MAX_PORT - workers + 1}"
                )
            return _supervise(args, argv, workers)
        tls_context(args.certfile, args.keyfile)  # fail before anything else starts
        if config is not None:
            asyncio.run(_serve_config(args, config))
        else:
            asyncio.run(_serve(args))
    except ConfigurationError as error:
        return fail(_worker_said(args, str(error)), USAGE_ERROR)
    except (StartError, OSError) as error:
        return fail(_worker_said(args, str(error)), START_ERROR)
    return 0


def _worker_said(args: argparse.Namespace, message: str) -> str:
    """A worker's one-line error says which worker it is, as its log lines do."""
    return f"[port {args.port}] {message}" if getattr(args, "worker", False) else message


if __name__ == "__main__":
    sys.exit(main())
