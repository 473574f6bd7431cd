"""``python -m fallback admin``: the backend API from a terminal.

    python -m fallback admin --url http://127.0.0.1:8080/acme --key API_KEY channels
    python -m fallback admin --url ... presence presence-room
    python -m fallback admin --url ... publish news '{"title": "hello"}'
    python -m fallback admin --url ... history news --limit 20 [--since 41:EPOCH]
    python -m fallback admin --url ... kick 42
    python -m fallback admin --url ... stats
    python -m fallback admin --url http://127.0.0.1:8080 --key ADMIN_KEY tenants

The key may also come from the ``FALLBACK_API_KEY`` environment variable.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import urllib.error
import urllib.parse
import urllib.request
from typing import Any


def add_parser(commands: Any) -> None:
    admin = commands.add_parser("admin", help="query and drive a running server's tenants")
    admin.add_argument(
        "--url", required=True, help="the tenant's base URL (server URL for tenants)"
    )
    admin.add_argument("--key", default=None, help="API key (or FALLBACK_API_KEY)")
    admin.add_argument("--timeout", type=float, default=10.0)
    actions = admin.add_subparsers(dest="action", required=True)
    actions.add_parser("tenants", help="every tenant (needs the server's admin_key)")
    actions.add_parser("channels", help="channels with member counts")
    actions.add_parser("stats", help="this process's counters")
    presence = actions.add_parser("presence", help="members of a presence channel")
    presence.add_argument("channel")
    publish = actions.add_parser("publish", help="publish to a channel")
    publish.add_argument("channel")
    publish.add_argument("data", help="JSON, or plain text sent as a string")
    history = actions.add_parser("history", help="what a channel with history keeps")
    history.add_argument("channel")
    history.add_argument("--limit", type=int, default=100, help="at most this many")
    history.add_argument(
        "--since", default=None, metavar="OFFSET:EPOCH", help="the first ones after there"
    )
    kick = actions.add_parser("kick", help="disconnect a user's connections everywhere")
    kick.add_argument("user")


def _call(args: argparse.Namespace, method: str, path: str, body: Any = None) -> Any:
    key = args.key or os.environ.get("FALLBACK_API_KEY")
    if not key:
        raise SystemExit("fallback admin: give --key or set FALLBACK_API_KEY")
    data = None if body is None else json.dumps(body).encode("utf-8")
    request = urllib.request.Request(
        args.url.rstrip("/") + path,
        data=data,
        method=method,
        headers={"Authorization": "Bearer " + key, "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=args.timeout) as response:
            return json.loads(response.read())
    except urllib.error.HTTPError as error:
        try:
            detail = json.loads(error.read())["error"]["message"]
        except (ValueError, KeyError, TypeError):
            detail = error.reason
        raise SystemExit(f"fallback admin: {error.code} {detail}") from None
    except (urllib.error.URLError, OSError) as error:
        raise SystemExit(f"fallback admin: cannot reach {args.url}: {error}") from None


def run(args: argparse.Namespace) -> int:
    action = args.action
    if action == "tenants":
        result = _call(args, "GET", "/_fallback/tenants")
    elif action == "channels":
        result = _call(args, "GET", "/api/channels")
    elif action == "stats":
        result = _call(args, "GET", "/api/stats")
    elif action == "presence":
        query = urllib.parse.urlencode({"channel": args.channel})
        result = _call(args, "GET", "/api/presence?" + query)
    elif action == "history":
        fields = {"channel": args.channel, "limit": str(args.limit)}
        if args.since:
            offset, _, epoch = args.since.partition(":")
            fields.update(offset=offset, epoch=epoch)
        result = _call(args, "GET", "/api/history?" + urllib.parse.urlencode(fields))
    elif action == "publish":
        try:
            data = json.loads(args.data)
        except ValueError:
            data = args.data
        result = _call(args, "POST", "/api/publish", {"channel": args.channel, "data": data})
    else:
        result = _call(args, "POST", "/api/disconnect", {"user": args.user})
    json.dump(result, sys.stdout, indent=2, sort_keys=True)
    sys.stdout.write("\n")
    return 0
