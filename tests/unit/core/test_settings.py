"""Settings: every limit checked at start-up, unknown names refused by name, transport
names in any of their spellings."""

from __future__ import annotations

import pytest

from fallback.core.settings import TRANSPORTS, Settings, normalize_transport
from fallback.exceptions import ConfigurationError


@pytest.mark.parametrize(
    ("name", "canonical"),
    [
        ("xhr_polling", "xhr"),
        ("xhr-streaming", "xhr_streaming"),
        ("jsonp-polling", "jsonp"),
        ("iframe-eventsource", "eventsource"),
        ("websocket", "websocket"),
    ],
)
def test_transport_names_are_taken_in_every_spelling(name, canonical):
    assert normalize_transport(name) == canonical


def test_an_unknown_transport_is_refused_with_the_known_ones_listed():
    with pytest.raises(ConfigurationError, match="unknown transport 'carrier-pigeon'") as caught:
        normalize_transport("carrier-pigeon")
    assert ", ".join(TRANSPORTS) in str(caught.value)


def test_disabled_transports_take_one_name_or_many_and_answer_enabled():
    one = Settings.from_kwargs({"disabled_transports": "xhr-polling"})
    assert one.disabled_transports == frozenset({"xhr"})
    assert not one.enabled("xhr") and one.enabled("jsonp") and one.websocket_enabled
    many = Settings.from_kwargs({"disabled_transports": ["websocket", "jsonp_polling"]})
    assert many.disabled_transports == frozenset({"websocket", "jsonp"})
    assert not many.websocket_enabled
    assert Settings().websocket_enabled


def test_unknown_settings_are_refused_by_name():
    with pytest.raises(ConfigurationError, match=r"unknown setting\(s\) beta, heartbeat"):
        Settings.from_kwargs({"heartbeat": 1, "beta": 2})


def test_allowed_origins_must_be_a_list():
    with pytest.raises(ConfigurationError, match="allowed_origins must be a list"):
        Settings(allowed_origins="https://a.example")  # type: ignore[arg-type]
    assert Settings.from_kwargs({"allowed_origins": ["a.example"]}).allowed_origins == (
        "a.example",
    )


@pytest.mark.parametrize(
    "name", ["heartbeat_delay", "disconnect_delay", "resume_grace", "handshake_timeout"]
)
@pytest.mark.parametrize("value", [0, -1, "5", None, True, float("nan"), float("inf")])
def test_times_must_be_positive_numbers(name, value):
    with pytest.raises(ConfigurationError, match=f"{name} must be a positive number"):
        Settings.from_kwargs({name: value})


def test_times_may_be_fractions_or_whole_numbers():
    settings = Settings.from_kwargs({"heartbeat_delay": 0.5, "handshake_timeout": 1})
    assert settings.heartbeat_delay == 0.5 and settings.handshake_timeout == 1


@pytest.mark.parametrize("name", ["response_limit", "max_queue", "resume_buffer_bytes"])
@pytest.mark.parametrize("value", [0, -5, 1.5, True, "10"])
def test_sizes_must_be_positive_integers(name, value):
    with pytest.raises(ConfigurationError, match=f"{name} must be a positive integer"):
        Settings.from_kwargs({name: value})


@pytest.mark.parametrize("value", ["", None, 5])
def test_the_sockjs_url_must_be_a_non_empty_string(value):
    with pytest.raises(ConfigurationError, match="sockjs_url must be a non-empty URL"):
        Settings.from_kwargs({"sockjs_url": value})


def test_the_smallest_valid_limits_are_taken():
    settings = Settings.from_kwargs({"max_queue": 1, "max_sessions": 1, "resume_buffer": 1})
    assert (settings.max_queue, settings.max_sessions, settings.resume_buffer) == (1, 1, 1)
