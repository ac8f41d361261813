"""The owner's message for an action refused by the invoice state machine: a catalogue key `illegal.<code>` naming
the invoice and its state in words, instead of the machine's English explanation."""

from __future__ import annotations

from dunning.invoice_states import IllegalTransition
from services.core import Msg


def illegal_transition(exc: BaseException) -> IllegalTransition | None:
    """The state machine's refusal behind `exc` (itself, or the error it was raised from), if any."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, IllegalTransition):
            return seen
        seen = seen.__cause__
    return None


def refusal(exc: BaseException) -> Msg:
    """What to tell the owner about a refused action: the state machine's reason in the catalogue's words when it
    is one (`illegal.<code>`, the state as a `State` the presenter names), else the error's own text."""
    illegal = illegal_transition(exc)
    if illegal is None:
        return Msg("action.failed", reason=str(exc))
    return Msg(f"illegal.{illegal.code}", number=illegal.number or "", **illegal.values)
