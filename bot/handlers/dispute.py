"""The ⚖️ Litige button: a short reason; the invoices leave the ladder until the dispute is closed."""

from __future__ import annotations

from bot.handlers.common import Question
from services.core import parse_reason

QUESTION = Question(
    kind="dispute",
    pattern=r"^r1:disp:",
    prompt="ask.dispute",
    state=40,
    parse=lambda typed, _services: parse_reason(typed),
    apply=lambda services, rid, version, reason, who, code: services.dispute(
        rid, version, reason=reason, actor=who, lang=code
    ),
)

ENTRY = QUESTION.entry
STATES = QUESTION.states
