"""The 🤝 Promesse button: the promised date; reminders pause until then, then a card says if it was not kept."""

from __future__ import annotations

from bot.handlers.common import Question
from services.core import parse_owner_date

QUESTION = Question(
    kind="promise",
    pattern=r"^r1:prom:",
    prompt="ask.promise",
    state=50,
    # Today is allowed: "paying today".
    parse=lambda typed, services: parse_owner_date(typed, services.today(), allow_today=True),
    apply=lambda services, rid, version, until, who, code: services.promise(
        rid, version, until=until, actor=who, lang=code
    ),
)

ENTRY = QUESTION.entry
STATES = QUESTION.states
