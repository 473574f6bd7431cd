"""``make_application(health=...)``: readiness follows draining and the broker's state."""

from __future__ import annotations

import json

import pytest

from fallback import Router
from fallback.server import make_application
from tests.server.apps import Echo
from tests.support import http
from tests.support.live import LiveServer

pytestmark = pytest.mark.timeout(30)

ROUTERS: list[Router] = []


def make_app():
    ROUTERS[:] = [Router(Echo, "/echo")]
    return make_application(ROUTERS, health="/echo/health", broker_required=True)


@pytest.fixture(scope="module")
def live():
    server = LiveServer(make_app).start()
    yield server
    server.stop()


def test_ready_until_the_service_drains_then_503_while_live_stays_200(live):
    answer = http.get(live.url + "/echo/health")
    assert answer.status == 200 and answer.header("Cache-Control") == "no-store"
    assert json.loads(answer.text)["ready"] is True
    live.call(lambda: setattr(ROUTERS[0].service, "draining", True))
    try:
        draining = http.get(live.url + "/echo/health")
        assert draining.status == 503
        assert json.loads(draining.text) == {
            "live": True,
            "ready": False,
            "draining": True,
            "broker": {"kind": "memory", "connected": True, "required": True},
        }
        assert http.get(live.url + "/echo/health/live").status == 200
    finally:
        live.call(lambda: setattr(ROUTERS[0].service, "draining", False))


def test_health_is_off_unless_asked():
    app = make_application([Router(Echo, "/other")])
    paths = [rule.matcher.regex.pattern for rule in app.wildcard_router.rules]
    assert not any("health" in path for path in paths)
