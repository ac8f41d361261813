"""Terminal mode: the same conversation as the Telegram bot, in the terminal (cards printed, actions by letter).

Used by `relance run` (and `make run`) when no TELEGRAM_BOT_TOKEN is set. Without a terminal on stdin (CI, pipes)
it prints the digest and the dashboard, then how to connect Telegram, and returns: it never waits for input.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable
from datetime import date
from typing import Any, TextIO

from bot.cards import CardText, to_plain
from bot.i18n import t
from bot.presenter import Presenter, Shown, text
from bot.reports import render_status
from bot.settings import Settings, SettingsError
from messages.render import TemplateError
from services.core import InputError, Services, parse_edit, parse_owner_amount, parse_owner_date, parse_reason
from storage.db import make_engine

ACTOR = "owner:terminal"
RULE = "─" * 72


def open_terminal_services(settings: Settings, today: date) -> Presenter:
    """Services for the terminal: SMTP when configured, else .eml files under DATA_DIR/outbox; the settings are
    applied to the business as `relance run` does (it is `relance run` without a token).

    Raise SettingsError (before touching the database) when RATES_FILE is missing or malformed.
    """
    from bot.business import build_context, load_rates, renderer_for, settings_ladder

    load_rates(settings)
    renderer = renderer_for(settings)
    # Every ladder step (custom ones included) and message kind: a broken or missing template stops it now.
    renderer.check(settings_ladder(settings).steps)
    engine = make_engine(settings.DATABASE_URL, admin_url=settings.DATABASE_ADMIN_URL)
    return Presenter(Services(build_context(engine, settings, today=today, apply=True, renderer=renderer)))


class Terminal:
    """One terminal session over the services; `read` and `out` are replaceable for tests."""

    def __init__(self, services: Presenter, *, read: Callable[[str], str], out: TextIO, lang: str = "fr") -> None:
        self.services = services
        self.read = read
        self.out = out
        self.lang = lang

    def say(self, text: str = "") -> None:
        """Print owner-facing text (HTML removed)."""
        print(to_plain(text), file=self.out)

    def ask(self, prompt: str) -> str | None:
        """Read one answer; None at the end of input."""
        try:
            return self.read(prompt)
        except EOFError:
            return None

    # --- screens ---

    def digest(self) -> list[tuple[int, CardText]]:
        """Print today's header and return the cards."""
        data = self.services.digest(claim=False)
        assert data is not None
        header, cards = self.services.render_digest(data, self.lang)
        self.say(header)
        return cards

    def show_card(self, number: int, card: CardText) -> None:
        """Print one card with its number."""
        self.say(RULE)
        self.say(f"[{number}] " + card.plain)

    def status(self) -> None:
        """Print the dashboard."""
        self.say(RULE)
        self.say(render_status(self.services.status(), self.lang))

    def report(self, outcome: Shown) -> None:
        """Print what an action did, and the card's new state."""
        self.say(outcome.message)
        if outcome.path:
            self.say(t("term.eml", self.lang, path=outcome.path))
        if outcome.card is not None and not outcome.card.buttons:
            self.say(outcome.card.plain.splitlines()[-1])

    # --- the session ---

    def run_batch(self) -> None:
        """Non-interactive: the digest with every card, the dashboard, and how to connect Telegram."""
        for n, (_, card) in enumerate(self.digest(), start=1):
            self.show_card(n, card)
        self.status()
        self.say(RULE)
        self.say(t("term.telegram", self.lang))

    def run_interactive(self) -> None:
        """Pick a reminder, pick an action, until nothing is left or the owner quits."""
        cards = self.digest()
        while True:
            pending = [(rid, card) for rid, card in cards if self.services.current(rid, _version(card)) == "current"]
            if not pending:
                self.say(t("term.no_more", self.lang))
                break
            self.say(RULE)
            for n, (_, card) in enumerate(pending, start=1):
                # A compact list; the whole card is shown once picked.
                self.say(f"[{n}] " + card.plain.splitlines()[0])
            answer = self.ask(t("term.choose", self.lang, count=len(pending)))
            if answer is None or answer.strip().lower() in ("q", "quit", "quitter"):
                break
            if answer.strip().lower() in ("t", "tableau", "status"):
                self.status()
                continue
            if not answer.strip().isdigit() or not 1 <= int(answer) <= len(pending):
                continue
            rid, card = pending[int(answer) - 1]
            self.show_card(int(answer), card)
            if not self.act(rid, card):
                break
            refreshed = self.services.card(rid, self.lang)
            cards = [(r, refreshed if r == rid and refreshed is not None else c) for r, c in cards]
        self.status()
        self.say(RULE)
        self.say(t("term.telegram", self.lang))
        self.say(t("term.bye", self.lang))

    def act(self, rid: int, card: CardText) -> bool:
        """One action on one reminder; False when the owner wants to quit."""
        self.say(t("term.actions_help", self.lang))
        choice = self.ask(t("term.action", self.lang))
        if choice is None:
            return False
        choice = choice.strip().lower()[:1]
        version = _version(card)
        s, lang = self.services, self.lang
        if choice == "q":
            return False
        if choice == "e":
            self.report(asyncio.run(s.send(rid, version, actor=ACTOR, lang=lang)))
        elif choice == "r":
            text = self.ask(t("term.snooze", lang)) or ""
            if text.strip() in ("1", "3", "7"):
                self.report(s.snooze(rid, version, actor=ACTOR, lang=lang, days=int(text)))
            else:
                self._with_input(lambda: parse_owner_date(text, s.today()),
                                 lambda d: s.snooze(rid, version, actor=ACTOR, lang=lang, until=d))  # fmt: skip
        elif choice == "p":
            text = self.ask(t("term.amount", lang)) or ""
            if not text.strip():
                self.report(s.pay(rid, version, actor=ACTOR, lang=lang))
            else:
                self._with_input(lambda: parse_owner_amount(text),
                                 lambda a: s.pay(rid, version, actor=ACTOR, lang=lang, amount=a))  # fmt: skip
        elif choice == "l":
            text = self.ask(t("term.reason", lang)) or ""
            self._with_input(lambda: parse_reason(text),
                             lambda r: s.dispute(rid, version, reason=r, actor=ACTOR, lang=lang))  # fmt: skip
        elif choice == "o":
            text = self.ask(t("term.promise", lang)) or ""
            self._with_input(lambda: parse_owner_date(text, s.today(), allow_today=True),
                             lambda d: s.promise(rid, version, until=d, actor=ACTOR, lang=lang))  # fmt: skip
        elif choice == "m":
            self.say(t("term.edit", lang))
            lines: list[str] = []
            while True:
                line = self.ask("")
                if line is None or line.strip() == ".":
                    break
                lines.append(line)
            self._with_input(lambda: parse_edit("\n".join(lines)),
                             lambda e: s.edit(rid, version, edit=e, actor=ACTOR, lang=lang))  # fmt: skip
            refreshed = s.card(rid, lang)
            if refreshed is not None:
                self.say(refreshed.plain)
        return True

    def _with_input(self, parse: Callable[[], Any], apply: Callable[[Any], Shown]) -> None:
        try:
            value = parse()
        except InputError as exc:
            self.say(text(exc.msg, self.lang))
            return
        self.report(apply(value))


def _version(card: CardText) -> int:
    """The reminder version carried by a card's buttons (-1 when it has none: nothing left to do)."""
    for row in card.buttons:
        for button in row:
            if button.data.startswith("r1:"):  # not a formal notice's letter buttons (l1:, the letter's version)
                return int(button.data.rsplit(":", 1)[1])
    return -1


def run_terminal(settings: Settings, today: date, *, stdin: TextIO | None = None, stdout: TextIO | None = None) -> None:
    """`relance run` without a token: the demo (or your) database in the terminal; returns when done."""
    stdin = stdin or sys.stdin
    out = stdout or sys.stdout
    try:
        services = open_terminal_services(settings, today)
    except (SettingsError, TemplateError) as exc:
        # Same contract as the bot's start-up: one line naming the setting (and the file), exit code 2.
        print(f"relance: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    try:
        interactive = stdin.isatty()

        def read(prompt: str) -> str:
            out.write(prompt)
            out.flush()
            line = stdin.readline()
            if not line:
                raise EOFError
            return line.rstrip("\n")

        terminal = Terminal(services, read=read, out=out)
        terminal.say(t("term.today", terminal.lang, day=today.strftime("%d/%m/%Y")))
        if interactive:
            terminal.run_interactive()
        else:
            terminal.run_batch()
    finally:
        services.engine.dispose()
