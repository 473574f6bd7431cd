"""The session's state table: the docstring's diagram is the table's, and the table
allows what the session does and nothing else."""

from __future__ import annotations

import pytest

from fallback.core import session as session_module
from fallback.core.states import (
    TRANSITIONS,
    SessionEvent,
    SessionState,
    diagram,
    next_state,
)
from fallback.exceptions import InvalidState


def test_the_session_docstring_shows_the_diagram_the_table_draws():
    drawn = "\n".join("    " + line for line in diagram().splitlines())
    assert drawn in (session_module.__doc__ or "")


def test_every_state_but_closed_can_close_and_nothing_leaves_closed():
    for state in SessionState:
        if state is SessionState.CLOSED:
            assert all(old is not state for old, _ in TRANSITIONS)
        else:
            assert next_state(state, SessionEvent.CLOSE) is SessionState.CLOSED


def test_a_session_opens_only_through_opening():
    assert next_state(SessionState.NEW, SessionEvent.ATTACH) is SessionState.OPENING
    assert next_state(SessionState.OPENING, SessionEvent.ACCEPT) is SessionState.OPEN
    assert [old for (old, _), new in TRANSITIONS.items() if new is SessionState.OPEN] == [
        SessionState.OPENING
    ]


@pytest.mark.parametrize(
    ("state", "event"),
    [
        (SessionState.NEW, SessionEvent.ACCEPT),
        (SessionState.OPENING, SessionEvent.ATTACH),
        (SessionState.OPENING, SessionEvent.REFUSE),
        (SessionState.OPEN, SessionEvent.ATTACH),
        (SessionState.OPEN, SessionEvent.REFUSE),
        (SessionState.CLOSED, SessionEvent.CLOSE),
    ],
)
def test_an_event_the_table_does_not_have_is_a_bug(state, event):
    with pytest.raises(InvalidState, match=f"a {state.value} session cannot {event.value}"):
        next_state(state, event)


def test_the_diagram_has_a_line_per_transition():
    lines = diagram().splitlines()
    assert len(lines) == len(TRANSITIONS)
    assert lines[0] == "NEW     ──attach──▶ OPENING"
    assert lines[1] == "        ──close──▶ CLOSED"
