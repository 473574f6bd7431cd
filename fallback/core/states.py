"""A session's life as an explicit state machine: states, events, and the table.

As h11's ``_state.py`` does, the transitions are data: `TRANSITIONS` maps a
``(state, event)`` pair to the next state, `next_state` looks it up, and a pair that is
not in the table is a bug in the caller (`InvalidState`). The session's docstring shows
the diagram `diagram` draws from the table (a test checks that the two agree).

What is state and what is not: the state says what a session may still do -- run
``on_open``, deliver messages, call ``on_close``. What it still has to *send* (the open
frame, resume control frames, queued messages, a due heartbeat, the close frame to
repeat) is its outbox, not its state: a session closed before its open frame went out
(refused, rejected, closed inside ``on_open``, interrupted) sends ``o`` and then the
close frame, whatever closed it.
"""

from __future__ import annotations

import enum

from ..exceptions import InvalidState


class SessionState(enum.Enum):
    #: Created; no receiver has come yet, ``on_open`` has not run.
    NEW = "new"
    #: The first receiver came: ``on_open`` is running and has not accepted yet (messages
    #: are not delivered, a close now is not reported to ``on_close``).
    OPENING = "opening"
    #: ``on_open`` accepted: messages flow both ways.
    OPEN = "open"
    #: Closed: what was queued before, then the close frame, go to every later receiver
    #: until the session expires.
    CLOSED = "closed"


class SessionEvent(enum.Enum):
    #: The first receiver attached.
    ATTACH = "attach"
    #: ``on_open`` accepted the connection.
    ACCEPT = "accept"
    #: Closed by either side, a limit, a failure or a timeout (``on_open`` rejecting,
    #: raising or closing included).
    CLOSE = "close"
    #: Made only to say no: a request that cannot be served learns why (`Session.refuse`).
    REFUSE = "refuse"


S, E = SessionState, SessionEvent

#: Every transition there is; anything else is a bug.
TRANSITIONS: dict[tuple[SessionState, SessionEvent], SessionState] = {
    (S.NEW, E.ATTACH): S.OPENING,
    (S.NEW, E.CLOSE): S.CLOSED,
    (S.NEW, E.REFUSE): S.CLOSED,
    (S.OPENING, E.ACCEPT): S.OPEN,
    (S.OPENING, E.CLOSE): S.CLOSED,
    (S.OPEN, E.CLOSE): S.CLOSED,
}


def next_state(state: SessionState, event: SessionEvent) -> SessionState:
    """The state `event` leads to from `state`; `InvalidState` if it leads nowhere."""
    try:
        return TRANSITIONS[state, event]
    except KeyError:
        raise InvalidState(f"a {state.value} session cannot {event.value}") from None


def diagram() -> str:
    """The transition table as the lines of a diagram, one per state that has exits."""
    width = max(len(state.name) for state in SessionState)
    lines = []
    for state in SessionState:
        exits = [(event, new) for (old, event), new in TRANSITIONS.items() if old is state]
        for i, (event, new) in enumerate(exits):
            label = state.name.ljust(width) if i == 0 else " " * width
            lines.append(f"{label} ──{event.value}──▶ {new.name}")
    return "\n".join(lines)
