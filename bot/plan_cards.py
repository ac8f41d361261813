"""The payment plan card (échéancier), chat-independent: the plan suggested for a reminder's invoices, with the count
of instalments to choose, ✏️ Modifier (the owner types the schedule) and 📧 Préparer l'e-mail; and the lines /client
and /factures show for a running plan.

Button data: `pl1:<action>:<reminder id>:<version>:<count>`, the reminder and version of the card it came from
(checked against the database before anything is done, like the card's own buttons).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from bot.cards import MAX_CALLBACK_BYTES, Button, CardText, h
from bot.i18n import t
from bot.presenter import Presenter, text
from dunning.invoice_states import Instalment
from messages.formatting import format_amount
from services import plans
from services.plans import COUNT_CHOICES, PlanFacts, PlanSuggestion, schedule_text

PREFIX = "pl1"
#: open: the plan card under a reminder's card; n: another count; edit: type the schedule; prep: propose it.
ACTIONS = frozenset({"open", "n", "edit", "prep"})
_CALLBACK = re.compile(r"^pl1:([a-z]{1,8}):(\d{1,12}):(\d{1,9}):(\d{1,2})$")


def callback(action: str, reminder_id: int, version: int, count: int = 0) -> str:
    """The callback data of a plan button."""
    data = f"{PREFIX}:{action}:{reminder_id}:{version}:{count}"
    assert len(data.encode()) <= MAX_CALLBACK_BYTES and action in ACTIONS
    return data


def parse_callback(data: str | None) -> tuple[str, int, int, int] | None:
    """(action, reminder id, version, count) from callback data, or None when it is not ours or malformed."""
    m = _CALLBACK.match(data or "")
    if not m or m[1] not in ACTIONS:
        return None
    return m[1], int(m[2]), int(m[3]), int(m[4])


def open_button(reminder_id: int, version: int, lang: str) -> Button:
    """📅 Échéancier on a reminder's card."""
    return Button(t("btn.plan", lang), callback("open", reminder_id, version))


def schedule_lines(schedule: Sequence[Instalment], currency: str, lang: str) -> list[str]:
    """One line per instalment: "• 24/12/2026 : 333,33 €"."""
    return [
        t("plan.line", lang, day=i.due.strftime("%d/%m/%Y"), amount=format_amount(i.amount, currency, lang))
        for i in schedule
    ]


def render_suggestion(s: PlanSuggestion, lang: str) -> CardText:
    """The plan card: invoices and balance, the instalments, and the buttons (counts, Modifier, Préparer l'e-mail);
    a plan that cannot be made shows why, with no button."""
    lines = [t("plan.title", lang, client=h(s.client_name))]
    if s.invoices:
        numbers = ", ".join(i.number for i in s.invoices)
        lines.append(t("plan.invoices", lang, numbers=h(numbers), total=format_amount(s.total, s.currency, lang)))
    if not s.ok or not s.schedule:
        return CardText("\n".join([*lines, "", text(s.message, lang)]))
    lines += ["", t("plan.count", lang, count=s.count), *schedule_lines(s.schedule, s.currency, lang)]
    lines += ["", f"<i>{t('plan.hint', lang)}</i>"]
    rid, ver = s.reminder_id, s.version
    counts = tuple(
        Button(t("plan.btn.count_current" if n == s.count else "plan.btn.count", lang, count=n),
               callback("n", rid, ver, n))
        for n in COUNT_CHOICES
    )  # fmt: skip
    actions = (
        Button(t("plan.btn.edit", lang), callback("edit", rid, ver, s.count)),
        Button(t("plan.btn.prepare", lang), callback("prep", rid, ver, s.count)),
    )
    return CardText("\n".join(lines), (counts, actions))


def render_prepared(s: PlanSuggestion, schedule: Sequence[Instalment], lang: str) -> CardText:
    """The plan card once its e-mail is prepared: the schedule proposed, no button left."""
    lines = [t("plan.title", lang, client=h(s.client_name))]
    numbers = ", ".join(i.number for i in s.invoices)
    lines.append(t("plan.invoices", lang, numbers=h(numbers), total=format_amount(s.total, s.currency, lang)))
    lines += ["", t("plan.typed", lang, count=len(schedule)), *schedule_lines(schedule, s.currency, lang)]
    lines += ["", t("plan.prepared", lang)]
    return CardText("\n".join(lines))


def example(s: PlanSuggestion) -> str:
    """The suggested schedule as the owner would type it (the prompt's example)."""
    return schedule_text(s.schedule)


def plan_summary(facts: PlanFacts, lang: str) -> list[str]:
    """A running plan on /client: paid so far, next instalment, late instalments."""
    p, cur = facts.progress, facts.currency
    lines = [
        t("plan.summary", lang, numbers=h(", ".join(facts.numbers)), paid=format_amount(p.paid, cur, lang),
          total=format_amount(p.total, cur, lang), done=p.instalments_paid, count=p.instalments)
    ]  # fmt: skip
    if p.next_due is not None:
        lines.append(
            t("plan.next", lang, day=p.next_due.strftime("%d/%m/%Y"), amount=format_amount(p.next_amount, cur, lang))
        )
    if p.overdue:
        lines.append(t("plan.late", lang, count=p.overdue, amount=format_amount(p.overdue_amount, cur, lang)))
    return lines


def invoice_suffix(facts: PlanFacts | None, lang: str) -> str:
    """What /factures adds to an invoice in a running plan: the plan's next instalment ('' for none)."""
    due = facts.progress.next_due if facts is not None else None
    if facts is None or due is None:
        return ""
    p = facts.progress
    return t("plan.suffix", lang, day=due.strftime("%d/%m/%Y"),
             amount=format_amount(p.next_amount, facts.currency, lang))  # fmt: skip


@dataclass(frozen=True, slots=True)
class Prepared:
    """What "Préparer l'e-mail" did: the answer, the plan card now, and the schedule e-mail's reminder (whose card
    the chat shows under it) when it was drafted."""

    ok: bool
    message: str
    plan_card: CardText | None = None
    reminder_id: int | None = None


def prepare(
    presenter: Presenter, s: PlanSuggestion, schedule: Sequence[Instalment], *, actor: str, lang: str
) -> Prepared:
    """Propose the plan `schedule` for the suggestion's card (services.plans.propose) and say what happened."""
    outcome = plans.propose(presenter.core.ctx, s.reminder_id, s.version, schedule, actor=actor)
    said = text(outcome.message, lang)
    if not outcome.ok:
        return Prepared(False, said)
    return Prepared(True, said, render_prepared(s, schedule, lang), outcome.reminder_id)
