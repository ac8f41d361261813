"""Rich rendering for the terminal: the digest, the status, an import report, how to connect Telegram.

What the owner reads is French; its wording lives in the LABELS catalogue below, not in the rendering code.
Amounts and dates go through messages.formatting (Babel), so the terminal says "1 234,56 €" and "24 novembre 2026".
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from decimal import Decimal

from rich.console import Console
from rich.panel import Panel
from rich.table import Table

from messages.formatting import format_amount, format_date
from services.imports import ImportReport, format_errors
from storage.queries import StatusSummary
from storage.reminders import ReminderView

LABELS: dict[str, str] = {
    "digest_title": "Relances à proposer le {day}",
    "digest_empty": "Aucune relance à proposer le {day}.",
    "digest_not_business_day": "Le {day} n'est pas un jour ouvré : aucune relance n'est proposée ce jour-là.",
    "client": "Client",
    "step": "Étape",
    "invoices": "Factures",
    "due_date": "Échéance",
    "days_overdue": "Retard",
    "days": "{n} j",
    "not_due": "dans {n} j",
    "total": "Total dû",
    "state": "État",
    "status_title": "Situation au {day}",
    "open_total": "Encours total",
    "overdue_total": "Dont échu",
    "open_count": "Factures ouvertes",
    "overdue_count": "Factures échues",
    "clients_owing": "Clients débiteurs",
    "recovered": "Encaissé ce mois-ci",
    "aging_title": "Ancienneté des retards",
    "bucket": "Retard (jours)",
    "count": "Nombre",
    "amount": "Montant",
    "top_title": "Principaux débiteurs (échu)",
    "oldest": "Plus ancien retard",
    "upcoming_title": "Relances des 7 prochains jours",
    "upcoming_empty": "Aucune nouvelle relance prévue dans les 7 prochains jours.",
    "date": "Date",
    "actions_title": "À faire",
    "letters_title": "Mises en demeure en attente de l'accusé de réception",
    "letter_number": "LRAR n°",
    "letter_sent": "Envoyée le",
    "letter_deadline": "Délai jusqu'au",
    "action_uncertain_send": "Statut d'envoi incertain : relance « {detail} » de {client} ({amount}), à vérifier",
    "action_pending_reminder": "Relance « {detail} » à valider pour {client} ({amount})",
    "action_promise_due": "Promesse de paiement échue : {client}, facture {detail} ({amount})",
    "action_disputed": "Litige en cours : {client}, facture {detail} ({amount})",
    "import_ok": (
        "Import de {file} : {created} facture(s) créée(s), {updated} mise(s) à jour, {unchanged} inchangée(s) ; "
        "{clients_created} client(s) créé(s), {clients_updated} mis à jour."
    ),
    "import_dry_run": "Simulation (--dry-run) : rien n'a été enregistré.",
    "import_failed": "Import de {file} refusé : {n} erreur(s), rien n'a été importé.",
    "error_table": "Erreurs",
    "line": "Ligne",
    "column": "Colonne",
    "reason": "Motif",
    "telegram_title": "Brancher Telegram",
    "telegram_help": (
        "Relance tourne ici en mode démonstration, sans Telegram.\n"
        "Pour recevoir chaque matin vos relances sur votre téléphone :\n"
        "  1. Dans Telegram, ouvrez @BotFather, envoyez /newbot et suivez les étapes ; copiez le jeton obtenu.\n"
        "  2. Dans le fichier .env (copie de .env.example), renseignez TELEGRAM_BOT_TOKEN=<le jeton>.\n"
        "  3. Renseignez OWNER_CHAT_IDS avec votre identifiant Telegram (numérique ; @userinfobot vous le donne).\n"
        "  4. Importez vos factures (relance import factures.csv) puis relancez : make run\n"
        "(Running in demo mode: create a bot with @BotFather, set TELEGRAM_BOT_TOKEN and OWNER_CHAT_IDS in .env.)"
    ),
    "demo_db": "Base de démonstration : {url}",
    "demo_created": "Données de démonstration créées (clients et factures fictifs).",
}

STEP_LABELS: dict[str, str] = {
    "pre_reminder": "Pré-relance",
    "reminder_1": "Relance 1",
    "reminder_2": "Relance 2",
    "formal_notice": "Mise en demeure",
}

STATE_LABELS: dict[str, str] = {
    "pending": "à valider",
    "snoozed": "reportée",
    "approved": "validée",
    "sending": "en cours d'envoi",
    "sent": "envoyée",
    "failed": "échec d'envoi",
    "skipped": "ignorée",
    "cancelled": "annulée",
}


def step_label(step: str) -> str:
    """The French name of a ladder step (custom steps keep their own name)."""
    return STEP_LABELS.get(step, step)


def _days(n: int) -> str:
    return LABELS["days"].format(n=n) if n > 0 else LABELS["not_due"].format(n=-n) if n < 0 else "0 j"


def render_digest(console: Console, views: Sequence[ReminderView], today: date, *, business_day: bool = True) -> None:
    """The reminders due `today`: one row per invoice, grouped by client, with the step and the total."""
    day = format_date(today)
    if not views:
        key = "digest_empty" if business_day else "digest_not_business_day"
        console.print(LABELS[key].format(day=day))
        return
    table = Table(title=LABELS["digest_title"].format(day=day))
    table.add_column(LABELS["client"], style="bold", ratio=2)
    table.add_column(LABELS["step"], ratio=1)
    table.add_column(LABELS["invoices"], no_wrap=True)
    table.add_column(LABELS["due_date"], no_wrap=True)
    table.add_column(LABELS["days_overdue"], justify="right", no_wrap=True)
    table.add_column(LABELS["amount"], justify="right", no_wrap=True)
    for view in views:
        currency = view.invoices[0].currency if view.invoices else "EUR"
        for n, inv in enumerate(view.invoices):
            table.add_row(
                view.client_name if n == 0 else "",
                step_label(view.step) if n == 0 else "",
                inv.number,
                format_date(inv.due_date),
                _days(inv.days_overdue),
                format_amount(inv.balance, inv.currency),
            )
        if len(view.invoices) > 1:
            table.add_row("", "", "", "", LABELS["total"], format_amount(view.total, currency), style="bold")
        table.add_section()
    console.print(table)


def render_status(console: Console, summary: StatusSummary) -> None:
    """Totals, aging buckets, top debtors, the week ahead and what to do next."""
    head = Table(title=LABELS["status_title"].format(day=format_date(summary.today)), show_header=False)
    head.add_column(style="bold")
    head.add_column(justify="right", no_wrap=True)
    head.add_row(LABELS["open_total"], format_amount(summary.open_total))
    head.add_row(LABELS["overdue_total"], format_amount(summary.overdue_total))
    head.add_row(LABELS["open_count"], str(summary.open_count))
    head.add_row(LABELS["overdue_count"], str(summary.overdue_count))
    head.add_row(LABELS["clients_owing"], str(summary.clients_owing))
    head.add_row(LABELS["recovered"], format_amount(summary.recovered_this_month))
    console.print(head)

    aging = Table(title=LABELS["aging_title"])
    aging.add_column(LABELS["bucket"])
    aging.add_column(LABELS["count"], justify="right")
    aging.add_column(LABELS["amount"], justify="right", no_wrap=True)
    for bucket in summary.aging:
        aging.add_row(bucket.label, str(bucket.count), format_amount(bucket.amount))
    console.print(aging)

    if summary.top_debtors:
        top = Table(title=LABELS["top_title"])
        top.add_column(LABELS["client"])
        top.add_column(LABELS["invoices"], justify="right")
        top.add_column(LABELS["oldest"], justify="right")
        top.add_column(LABELS["amount"], justify="right", no_wrap=True)
        for d in summary.top_debtors:
            top.add_row(d.name, str(d.invoices), _days(d.oldest_days_overdue), format_amount(d.overdue_amount))
        console.print(top)

    if summary.upcoming:
        up = Table(title=LABELS["upcoming_title"])
        up.add_column(LABELS["date"], no_wrap=True)
        up.add_column(LABELS["client"])
        up.add_column(LABELS["step"])
        up.add_column(LABELS["invoices"])
        up.add_column(LABELS["amount"], justify="right", no_wrap=True)
        for u in summary.upcoming:
            up.add_row(
                format_date(u.day), u.client_name, step_label(u.step), ", ".join(u.invoices), format_amount(u.amount)
            )
        console.print(up)
    else:
        console.print(LABELS["upcoming_empty"])

    if summary.next_actions:
        lines = []
        for a in summary.next_actions:
            detail = step_label(a.detail) if a.kind in ("pending_reminder", "uncertain_send") else a.detail
            lines.append(
                "• "
                + LABELS[f"action_{a.kind}"].format(client=a.client_name, detail=detail, amount=format_amount(a.amount))
            )
        console.print(Panel("\n".join(lines), title=LABELS["actions_title"], expand=False))

    if summary.letters_awaiting:
        letters = Table(title=LABELS["letters_title"])
        letters.add_column(LABELS["client"])
        letters.add_column(LABELS["letter_number"])
        letters.add_column(LABELS["letter_sent"], no_wrap=True)
        letters.add_column(LABELS["letter_deadline"], no_wrap=True)
        for w in summary.letters_awaiting:
            letters.add_row(w.client_name, w.letter.tracking_number, format_date(w.letter.sent_on),
                            format_date(w.deadline))  # fmt: skip
        console.print(letters)


def render_import_report(console: Console, report: ImportReport, *, error_console: Console | None = None) -> None:
    """The outcome of an import; errors (line, column, reason) go to `error_console` (stderr) when given."""
    if report.errors:
        out = error_console or console
        out.print(LABELS["import_failed"].format(file=report.filename, n=len(report.errors)))
        table = Table(title=LABELS["error_table"])
        table.add_column(LABELS["line"], justify="right")
        table.add_column(LABELS["column"])
        table.add_column(LABELS["reason"])
        shown = report.errors[:200]
        for e in shown:
            table.add_row(str(e.line), e.column, e.reason)
        out.print(table)
        if len(report.errors) > len(shown):
            out.print(format_errors(report.errors, limit=len(shown))[-1])
        return
    console.print(
        LABELS["import_ok"].format(
            file=report.filename,
            created=report.invoices_created,
            updated=report.invoices_updated,
            unchanged=report.invoices_unchanged,
            clients_created=report.clients_created,
            clients_updated=report.clients_updated,
        )
    )
    if report.dry_run:
        console.print(LABELS["import_dry_run"])


def render_telegram_help(console: Console) -> None:
    """How to go from the terminal demo to the Telegram bot."""
    console.print(Panel(LABELS["telegram_help"], title=LABELS["telegram_title"], expand=False))


def money_str(value: Decimal) -> str:
    """An amount for JSON: a string with two decimals, e.g. "1234.56"."""
    return str(value.quantize(Decimal("0.01")))
