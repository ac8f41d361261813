"""One penalty computation: the e-mails (text and HTML), the PDF letter and the evidence dossier (resume.pdf and
its JSON) state the same penalties, indemnity and total for the same invoice on the same day."""

from __future__ import annotations

import html
import json
import re
import zipfile
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path

import pypdfium2 as pdfium
import pytest
from sqlalchemy import Engine

from services.drafts import render_preview
from services.export import build_evidence_zip
from storage.db import read_session, write_session
from storage.models import Payment
from tests.factories import make_business, make_client, make_invoice

D = Decimal
SPRING_2025 = date(2025, 4, 15)  # rates of 2025-H1 are in the shipped table
AUTUMN_2026 = date(2026, 11, 24)  # 2026-H2 is missing from the shipped table
#: A French amount once whitespace is normalised: "4 104,85 €".
AMOUNT = r"(\d{1,3}(?: \d{3})*,\d{2}) ?€"


@dataclass(frozen=True)
class Case:
    """One invoice on one day, and what it must claim (penalty None: not computed)."""

    amount: str
    due: date
    today: date
    penalty: Decimal | None
    indemnity: Decimal
    total: Decimal
    amount_paid: str = "0.00"
    payments: tuple[tuple[date, str], ...] = ()
    client: dict[str, object] = field(default_factory=dict)


def _rate(base: int, days: int, rate: str = "13.15") -> Decimal:
    return D(base) * days * D(rate) / 100 / 365


CASES = {
    # The case: 6 000 € marked paid at import (no date) counts from the start: 4 000 x 13.15 % x 45 / 365.
    "paid_at_import": Case("10000.00", date(2025, 3, 1), SPRING_2025, D("64.85"), D("40.00"), D("4104.85"), "6000.00"),
    # 400 € paid on 1 April: 1 000 € for 11 days, then 600 € for 15 days.
    "dated_payment": Case(
        "1000.00",
        date(2025, 3, 20),
        SPRING_2025,
        (_rate(1000, 11) + _rate(600, 15)).quantize(D("0.01")),
        D("40.00"),
        D("600.00") + (_rate(1000, 11) + _rate(600, 15)).quantize(D("0.01")) + D("40.00"),
        "400.00",
        ((date(2025, 4, 1), "400.00"),),
    ),
    # 3 000 € paid, 1 000 € of it dated 1 April: the undated 2 000 € from the start, so 3 000 € then 2 000 €.
    "dated_and_undated": Case(
        "5000.00",
        date(2025, 3, 1),
        SPRING_2025,
        (_rate(3000, 30) + _rate(2000, 15)).quantize(D("0.01")),
        D("40.00"),
        D("2000.00") + (_rate(3000, 30) + _rate(2000, 15)).quantize(D("0.01")) + D("40.00"),
        "3000.00",
        ((date(2025, 4, 1), "1000.00"),),
    ),
    # 5 % is below 3 x 3.71 %: the statutory 13.15 % applies, the reference 162,12 €.
    "rate_below_floor": Case(
        "10000.00",
        date(2025, 3, 1),
        SPRING_2025,
        D("162.12"),
        D("40.00"),
        D("10202.12"),
        client={"contractual_rate": D("5.000")},
    ),
    "consumer": Case(
        "10000.00", date(2025, 3, 1), SPRING_2025, D("0.00"), D("0.00"), D("10000.00"), client={"is_consumer": True}
    ),
    # 2026-H2 missing: no penalty figure anywhere; the total is the principal and the indemnity only.
    "missing_half_year": Case("10000.00", date(2026, 10, 15), AUTUMN_2026, None, D("40.00"), D("10040.00")),
}


def _flat(text: str) -> str:
    """Text without tags, entities or line breaks: every run of (no-break) spaces is one space."""
    text = html.unescape(re.sub(r"<[^>]+>", " ", text))
    return re.sub(r"[\s\u00a0\u202f]+", " ", text)


def _money(text: str) -> Decimal:
    return D(text.replace(" ", "").replace(",", "."))


def _find(pattern: str, text: str) -> Decimal | None:
    """The amount captured by `pattern` (AMT marks it), or None when the pattern is absent."""
    match = re.search(pattern.replace("AMT", AMOUNT), text)
    return _money(match.group(1)) if match else None


def _pdf_text(data: bytes) -> str:
    pdf = pdfium.PdfDocument(data)
    try:
        return "".join(pdf[i].get_textpage().get_text_range() for i in range(len(pdf)))
    finally:
        pdf.close()


@dataclass
class Documents:
    """Every document of one invoice, flattened to text, and the dossier's JSON claim."""

    texts: dict[str, str]
    claim: dict[str, object]


def _seed(engine: Engine, case: Case) -> int:
    with write_session(engine) as s:
        business = make_business(s)
        client = make_client(
            s, business, name="Garage des Alpes", address="3 route du Col\n38000 Grenoble", **case.client
        )
        invoice = make_invoice(
            s, client, due=case.due, amount=case.amount, number="F-2025-001", amount_paid=D(case.amount_paid)
        )
        for paid_on, paid in case.payments:
            s.add(Payment(invoice_id=invoice.id, amount=D(paid), paid_on=paid_on))
        assert business.id is not None
        return business.id


def _documents(engine: Engine, business_id: int, today: date, tmp_path: Path) -> Documents:
    texts: dict[str, str] = {}
    with read_session(engine) as s:
        for step in ("reminder_2", "formal_notice"):
            for fmt in ("text", "html"):
                out = render_preview(
                    s, business_id=business_id, invoice_number="F-2025-001", today=today, step=step, fmt=fmt
                )
                assert isinstance(out, str)
                texts[f"{step}.{fmt}"] = _flat(out)
        letter = render_preview(
            s, business_id=business_id, invoice_number="F-2025-001", today=today, step="formal_notice", fmt="letter"
        )
    assert isinstance(letter, bytes)
    texts["letter"] = _flat(_pdf_text(letter))
    path = build_evidence_zip(
        engine, business_id=business_id, invoice_number="F-2025-001", today=today, out_path=tmp_path / "d.zip"
    )
    with zipfile.ZipFile(path) as zf:
        texts["resume"] = _flat(_pdf_text(zf.read("resume.pdf")))
        claim = json.loads(zf.read("chaine/entrees.json"))["claim"]
    return Documents(texts, claim)


#: Where each document states the penalty, the indemnity and the total (None: that document does not state it).
PATTERNS: dict[str, tuple[str | None, str | None, str | None]] = {
    "reminder_2.text": (
        r"les pénalités s'élèvent à AMT",
        r"les indemnités forfaitaires (?:s'élèvent )?à AMT",
        None,  # reminder 2 asks for the principal only
    ),
    "reminder_2.html": (
        r"les pénalités s'élèvent à AMT",
        r"les indemnités forfaitaires (?:s'élèvent )?à AMT",
        None,
    ),
    "formal_notice.text": (
        r"pénalités de retard arrêtées au [^:]*: AMT",
        r"indemnités forfaitaires pour frais de recouvrement : AMT",
        r"la somme de AMT",
    ),
    "formal_notice.html": (
        r"pénalités de retard arrêtées au [^:]*: AMT",
        r"indemnités forfaitaires pour frais de recouvrement : AMT",
        r"la somme de AMT",
    ),
    "letter": (
        r"AMT de pénalités de retard arrêtées",
        r"AMT d'indemnités forfaitaires",
        r"somme totale de AMT",
    ),
    "resume": (
        r"Pénalités de retard \(art\. L441-10 C\. com\.\) AMT",
        r"Indemnité forfaitaire de recouvrement \(art\. D441-5 C\. com\.\) AMT",
        r"Total réclamable à ce jour(?:, hors pénalités de retard)? AMT",
    ),
}

#: How each document says that the penalties were not computed.
NOT_COMPUTED = {
    "reminder_2.text": ["sera arrêté au jour du paiement"],
    "reminder_2.html": ["à calculer", "sera arrêté au jour du paiement"],
    "formal_notice.text": ["majorée des pénalités de retard", "elles continuent de courir jusqu'au paiement"],
    "formal_notice.html": ["majorée des pénalités de retard", "elles continuent de courir jusqu'au paiement"],
    "letter": ["majorée des pénalités de retard", "leur montant sera arrêté au jour du paiement"],
    "resume": ["non calculées", "2026-H2", "hors pénalités de retard"],
}


@pytest.mark.parametrize("name", list(CASES))
def test_every_document_states_the_same_figures(engine: Engine, tmp_path: Path, name: str) -> None:
    """E-mail text and HTML (reminder 2, formal notice), PDF letter, resume.pdf and JSON claim the same amounts."""
    case = CASES[name]
    business_id = _seed(engine, case)
    docs = _documents(engine, business_id, case.today, tmp_path)

    # The dossier's JSON: the figures as data.
    claim = docs.claim
    assert claim["penalties"] == (None if case.penalty is None else str(case.penalty))
    assert claim["indemnity"] == str(case.indemnity) and claim["total"] == str(case.total)
    assert claim["consumer"] is bool(case.client.get("is_consumer"))

    b2b = not case.client.get("is_consumer")
    for doc, (pen_re, ind_re, total_re) in PATTERNS.items():
        text = docs.texts[doc]
        penalty = _find(pen_re, text) if pen_re else None
        indemnity = _find(ind_re, text) if ind_re else None
        total = _find(total_re, text) if total_re else None
        if b2b and case.penalty is not None:
            assert penalty == case.penalty, f"{name}: {doc} penalty {penalty} != {case.penalty}"
        else:
            assert penalty is None, f"{name}: {doc} states a penalty of {penalty}"
        if b2b:
            assert indemnity == case.indemnity, f"{name}: {doc} indemnity {indemnity} != {case.indemnity}"
        else:
            assert indemnity is None, f"{name}: {doc} claims an indemnity from a consumer"
        if total_re:
            assert total == case.total, f"{name}: {doc} total {total} != {case.total}"

    if case.penalty is None:
        # Not computed: the wording says so everywhere, and no amount other than the principal, the indemnity,
        # the total and nil appears in any document (so no penalty figure slipped in anywhere).
        allowed = {D(case.amount), D(case.amount) - D(case.amount_paid), case.indemnity, case.total, D("0.00")}
        for doc, phrases in NOT_COMPUTED.items():
            for phrase in phrases:
                assert phrase in docs.texts[doc], f"{doc} lacks {phrase!r}"
            amounts = {_money(m) for m in re.findall(AMOUNT, docs.texts[doc])}
            assert amounts <= allowed, f"{doc} states {sorted(amounts - allowed)}"
        assert claim["penalties_not_computed"] == "2026-H2"


def test_paid_at_import_claims_64_85_not_162_12(engine: Engine, tmp_path: Path) -> None:
    """10 000 € due 1 March 2025, 6 000 € paid at import, on 15 April 2025: 64,85 € everywhere, never 162,12 €."""
    business_id = _seed(engine, CASES["paid_at_import"])
    docs = _documents(engine, business_id, SPRING_2025, tmp_path)
    for doc, text in docs.texts.items():
        assert "162,12" not in text and "64,85" in text, doc
    # The letter's computation line shows the base it was computed on: the 4 000 € still owed.
    assert "4 000,00 € × 13,15 % × 45 j / 365 = 64,85 €" in docs.texts["letter"]
