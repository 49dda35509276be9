"""The states of a run, and the moves between them that bookstore allows.

::

    QUEUED ──► RUNNING ──► COMPLETED | FAILED | TIMED_OUT | CANCELLED | LOST
       │
       └─────► CANCELLED | LOST | SKIPPED  (never started)

A state that is not :data:`ACTIVE` is final: nothing moves a finished run again (a
retry is a new run, ``retry_of`` the old one).  Nothing that failed ever reads
``COMPLETED``.
"""

from __future__ import annotations

import enum

from ...errors import Conflict

__all__ = ["ACTIVE", "TERMINAL", "RunState", "check_transition"]


class RunState(str, enum.Enum):
    """Where a run is; the value is how the REST API and the database spell it."""

    QUEUED = "QUEUED"
    RUNNING = "RUNNING"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"
    TIMED_OUT = "TIMED_OUT"
    CANCELLED = "CANCELLED"
    LOST = "LOST"
    SKIPPED = "SKIPPED"

    def __str__(self) -> str:
        return self.value


#: States a run may still leave.
ACTIVE = frozenset({RunState.QUEUED, RunState.RUNNING})
#: Final states.
TERMINAL = frozenset(RunState) - ACTIVE

_ALLOWED: dict[RunState, frozenset[RunState]] = {
    RunState.QUEUED: frozenset(
        {RunState.RUNNING, RunState.CANCELLED, RunState.LOST, RunState.SKIPPED}
    ),
    RunState.RUNNING: frozenset(
        {
            RunState.COMPLETED,
            RunState.FAILED,
            RunState.TIMED_OUT,
            RunState.CANCELLED,
            RunState.LOST,
        }
    ),
}


def check_transition(current: RunState, new: RunState) -> None:
    """Refuse (409) a move the state machine does not allow."""
    if new not in _ALLOWED.get(current, frozenset()):
        raise Conflict(f"A {current.value} run cannot become {new.value}.")
