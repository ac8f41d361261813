"""Matching bank credits to open invoices: normalisation, each rule in order, balances consumed, determinism."""

from __future__ import annotations

import random
from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dunning.matching import (
    MAX_CANDIDATES,
    Allocation,
    CreditLine,
    Doubtful,
    DoubtReason,
    MatchRule,
    NumberIndex,
    OpenInvoice,
    Outcome,
    Sure,
    Unmatched,
    UnmatchedReason,
    find_numbers,
    match,
    normalise_name,
    normalise_number,
    number_keys,
)

D = Decimal
DAY = date(2026, 11, 30)


def _invoice(
    invoice_id: int,
    number: str,
    balance: str,
    client: str = "Atelier Dupont SARL",
    client_id: int = 1,
    currency: str = "EUR",
    instalment: str | None = None,
) -> OpenInvoice:
    """An open invoice (in a payment plan when it has an instalment); its due date follows its id, so candidates
    come in id order."""
    due = date(2026, 10, 1) + timedelta(days=invoice_id)
    expected = None if instalment is None else D(instalment)
    return OpenInvoice(invoice_id, number, client_id, client, D(balance), currency, due, expected)


def _line(
    line_id: str,
    amount: str,
    remittance: str = "",
    counterparty: str = "",
    booking_date: date = DAY,
    currency: str = "EUR",
) -> CreditLine:
    """A credit line of the statement."""
    return CreditLine(line_id, booking_date, D(amount), currency, counterparty, remittance)


def _only(lines: list[CreditLine], invoices: list[OpenInvoice]) -> Outcome:
    """The outcome of a one-line statement."""
    result = match(lines, invoices)
    assert len(result.outcomes) == 1
    return result.outcomes[0]


# Normalisation


@pytest.mark.parametrize("written", ["F-2026-042", "F2026042", "f 2026 042", "F.2026.42", "F/2026/0042", "f-2026-42"])
def test_invoice_number_written_any_way_is_found(written: str) -> None:
    """The issue's examples (and slashes, leading zeros) all name invoice F-2026-042."""
    index = NumberIndex.build([_invoice(1, "F-2026-042", "100.00")])
    assert find_numbers(f"VIR SEPA FACTURE {written} MERCI", index) == ((1,),)


def test_normalise_number_ignores_case_separators_and_leading_zeros() -> None:
    """Case, spaces, dashes, dots, slashes and leading zeros of digit groups do not change the key."""
    assert {normalise_number(t) for t in ("F-2026-042", "f 2026 042", "F.2026.42", "F/2026/0042")} == {"f202642"}
    assert number_keys("F-2026-042") == {"f202642", "f2026042"}


def test_a_significant_zero_is_kept() -> None:
    """F-2026-402 and F-2026-042 stay two invoices, whichever way either is written."""
    index = NumberIndex.build([_invoice(1, "F-2026-042", "1"), _invoice(2, "F-2026-402", "1")])
    assert find_numbers("F2026042", index) == ((1,),)
    assert find_numbers("F2026402", index) == ((2,),)
    assert find_numbers("f.2026.402", index) == ((2,),)


def test_a_digit_run_is_never_cut() -> None:
    """A longer number, an IBAN or a reference containing the digits does not name the invoice."""
    index = NumberIndex.build([_invoice(1, "F-2026-042", "1"), _invoice(2, "1234", "1")])
    assert find_numbers("F-2026-0421 RUM 0012345 FR76300040001234", index) == ()


def test_the_longest_number_wins() -> None:
    """ "F-2026-042" names F-2026-042, not also an invoice numbered "2026-042"; the bare form names the latter."""
    index = NumberIndex.build([_invoice(1, "F-2026-042", "1"), _invoice(2, "2026-042", "1")])
    assert find_numbers("FACT F-2026-042", index) == ((1,),)
    assert find_numbers("FACT 2026 042", index) == ((2,),)


def test_a_number_without_digit_is_never_indexed() -> None:
    """An invoice "numbered" with a word is not found in every remittance that contains the word."""
    assert number_keys("FACTURE") == frozenset()
    assert find_numbers("FACTURE", NumberIndex.build([_invoice(1, "FACTURE", "1")])) == ()


@pytest.mark.parametrize(
    "written",
    [
        "SARL L'Atelier Dupont",
        "L ATELIER DUPONT S.A.R.L.",
        "l’atelier dupont",
        "L'ATELIER DUPONT SAS",
        "latelier-dupont eurl",
        "L'Atélier Dupont GmbH",
    ],
)
def test_normalise_name_ignores_accents_case_punctuation_and_legal_forms(written: str) -> None:
    """Accents, case, punctuation and legal-form words do not change a company's key."""
    assert normalise_name(written) == "latelierdupont"


def test_normalise_name_keeps_what_tells_clients_apart() -> None:
    """Trade-name words stay; a name made only of legal forms has an empty key."""
    assert normalise_name("Dupont & Fils") == "dupontfils"
    assert normalise_name("Cœur de Lion SASU") == "coeurdelion"
    assert normalise_name("SAS") == ""


# Rule 1: numbers


def test_number_in_remittance_is_a_sure_full_payment() -> None:
    """A line naming an invoice and paying its balance settles it, by the number rule."""
    invoices = [_invoice(1, "F-2026-042", "1200.00"), _invoice(2, "F-2026-043", "1200.00")]
    result = match([_line("a", "1200.00", "REGLEMENT F2026042")], invoices)
    assert result.outcomes == (Sure(result.outcomes[0].line, (Allocation(1, D("1200.00")),), MatchRule.NUMBER),)
    assert result.settled == (1,)
    assert result.balances[2] == D("1200.00")


def test_several_invoices_in_one_remittance_are_paid_in_order() -> None:
    """One line naming three invoices pays them in the order named; the last one partly."""
    invoices = [
        _invoice(1, "F-2026-001", "100.00"),
        _invoice(2, "F-2026-002", "200.00"),
        _invoice(3, "F-2026-003", "50"),
    ]
    outcome = _only([_line("a", "320.00", "FACT F-2026-002 + F-2026-001, F2026003")], invoices)
    assert isinstance(outcome, Sure)
    assert outcome.allocations == (Allocation(2, D("200.00")), Allocation(1, D("100.00")), Allocation(3, D("20.00")))
    assert outcome.overpaid == 0


def test_partial_payment_by_number_is_sure() -> None:
    """A line below the balance of the invoice it names is a sure partial payment."""
    result = match([_line("a", "300.00", "F-2026-042 acompte")], [_invoice(1, "F-2026-042", "1000.00")])
    assert result.sure[0].allocations == (Allocation(1, D("300.00")),)
    assert result.balances[1] == D("700.00")
    assert result.settled == ()


def test_over_payment_is_flagged_never_kept() -> None:
    """A line above what the named invoices owe pays them off and flags the excess."""
    result = match([_line("a", "1250.00", "F-2026-042")], [_invoice(1, "F-2026-042", "1200.00")])
    assert result.overpaid == result.sure
    assert result.sure[0].allocations == (Allocation(1, D("1200.00")),)
    assert result.sure[0].overpaid == D("50.00")


def test_two_lines_never_pay_one_invoice_beyond_its_balance() -> None:
    """A second payment of the same invoice finds its balance consumed and is flagged in full."""
    lines = [_line("a", "800.00", "F-2026-042"), _line("b", "800.00", "F-2026-042", booking_date=DAY + timedelta(1))]
    result = match(lines, [_invoice(1, "F-2026-042", "1000.00")])
    first, second = result.sure
    assert first.allocations == (Allocation(1, D("800.00")),)
    assert second.allocations == (Allocation(1, D("200.00")),)
    assert second.overpaid == D("600.00")
    assert result.balances[1] == 0


def test_number_rule_beats_amount_rule_of_an_earlier_line() -> None:
    """A line naming the invoice gets it even when an earlier line has its amount and nothing else."""
    lines = [_line("a", "500.00", "VIREMENT"), _line("b", "500.00", "F-2026-042", booking_date=DAY + timedelta(1))]
    result = match(lines, [_invoice(1, "F-2026-042", "500.00")])
    assert result.outcomes[0] == Unmatched(lines[0])
    assert result.outcomes[1] == Sure(lines[1], (Allocation(1, D("500.00")),), MatchRule.NUMBER)


def test_colliding_numbers_are_doubtful() -> None:
    """Two invoices whose numbers read the same (F-2026-042 and F2026042) leave the choice to the owner."""
    invoices = [_invoice(1, "F-2026-042", "10"), _invoice(2, "F2026042", "10")]
    outcome = _only([_line("a", "10", "F2026042")], invoices)
    assert outcome == Doubtful(_line("a", "10", "F2026042"), (1, 2), DoubtReason.AMBIGUOUS_NUMBER)


def test_number_of_an_invoice_in_another_currency_is_unmatched() -> None:
    """A dollar credit naming a euro invoice records nothing."""
    outcome = _only([_line("a", "100", "F-2026-042", currency="USD")], [_invoice(1, "F-2026-042", "100")])
    assert outcome == Unmatched(_line("a", "100", "F-2026-042", currency="USD"), UnmatchedReason.OTHER_CURRENCY)


# Rule 2: amount and name


def test_amount_and_client_name_is_sure() -> None:
    """No number, but the exact balance from a counterparty whose name contains the client's: sure."""
    invoices = [
        _invoice(1, "F-1", "450.00", "SARL L'Atelier Dupont", client_id=1),
        _invoice(2, "F-2", "450.00", "Boulangerie Martin", client_id=2),
    ]
    outcome = _only([_line("a", "450", "VIR SEPA", counterparty="M OU MME JEAN LATELIER DUPONT SAS")], invoices)
    assert isinstance(outcome, Sure)
    assert outcome.rule is MatchRule.AMOUNT_AND_NAME
    assert outcome.allocations == (Allocation(1, D("450.00")),)


def test_amount_and_name_with_two_invoices_of_the_client_is_doubtful() -> None:
    """Two invoices of the same client and amount: the owner picks, the oldest due date offered first."""
    invoices = [_invoice(2, "F-2", "49.00"), _invoice(1, "F-1", "49.00")]
    outcome = _only([_line("a", "49.00", counterparty="ATELIER DUPONT")], invoices)
    assert isinstance(outcome, Doubtful)
    assert (outcome.candidates, outcome.reason) == ((1, 2), DoubtReason.SEVERAL_INVOICES)


def test_amount_must_match_the_balance_left_after_a_partial_payment() -> None:
    """After an instalment by number, the rest is matched by amount and name against the remaining balance."""
    lines = [_line("a", "400", "F-2026-042"), _line("b", "600", "solde", counterparty="Atelier Dupont")]
    result = match(lines, [_invoice(1, "F-2026-042", "1000")])
    assert [s.rule for s in result.sure] == [MatchRule.NUMBER, MatchRule.AMOUNT_AND_NAME]
    assert result.settled == (1,)


# Rule 3: amount alone


def test_single_invoice_of_that_amount_is_sure() -> None:
    """No number, no known name: the only open invoice of exactly that amount."""
    invoices = [_invoice(1, "F-1", "123.45"), _invoice(2, "F-2", "99.00")]
    outcome = _only([_line("a", "123.45", "VIR INST", counterparty="JEAN X")], invoices)
    assert outcome == Sure(
        _line("a", "123.45", "VIR INST", counterparty="JEAN X"), (Allocation(1, D("123.45")),), MatchRule.AMOUNT
    )


def test_two_invoices_sharing_the_amount_are_doubtful() -> None:
    """Two open invoices of that amount (different clients): doubtful, with both as candidates."""
    invoices = [_invoice(1, "F-1", "250", "A SARL", 1), _invoice(2, "F-2", "250", "B SAS", 2), _invoice(3, "F-3", "9")]
    outcome = _only([_line("a", "250.00")], invoices)
    assert outcome == Doubtful(_line("a", "250.00"), (1, 2), DoubtReason.SEVERAL_INVOICES)


def test_two_lines_for_one_invoice_of_that_amount_are_doubtful() -> None:
    """Two anonymous lines of 250 and one invoice of 250: neither is sure."""
    lines = [_line("a", "250"), _line("b", "250")]
    result = match(lines, [_invoice(1, "F-1", "250")])
    assert [o.reason for o in result.doubtful] == [DoubtReason.SEVERAL_LINES] * 2
    assert result.balances[1] == D("250")


def test_an_invoice_left_to_the_owner_is_not_taken_by_amount_alone() -> None:
    """Two Dupont lines of 49 hold Dupont's one invoice of 49 as doubtful; a third, anonymous one does not take it."""
    lines = [_line("a", "49", counterparty="DUPONT"), _line("b", "49", counterparty="DUPONT"), _line("c", "49")]
    result = match(lines, [_invoice(1, "F-1", "49", "Dupont")])
    assert [o.reason for o in result.doubtful] == [DoubtReason.SEVERAL_LINES] * 3
    assert result.sure == ()


def test_amount_alone_from_another_known_client_is_doubtful() -> None:
    """The only invoice of 300 is Martin's but Dupont pays 300: the owner confirms."""
    invoices = [_invoice(1, "F-1", "300", "Martin SARL", 1), _invoice(2, "F-2", "50", "Dupont SAS", 2)]
    outcome = _only([_line("a", "300", counterparty="DUPONT")], invoices)
    assert outcome == Doubtful(_line("a", "300", counterparty="DUPONT"), (1,), DoubtReason.OTHER_CLIENT)


def test_candidates_are_capped() -> None:
    """A hundred invoices of the same amount: the card lists at most MAX_CANDIDATES, oldest first."""
    invoices = [_invoice(i, f"F-{i}", "10", f"Client {i}", i) for i in range(1, 101)]
    outcome = _only([_line("a", "10")], invoices)
    assert isinstance(outcome, Doubtful)
    assert outcome.candidates == tuple(range(1, MAX_CANDIDATES + 1))


# A payment plan's next instalment is expected too


def test_plan_instalment_with_client_name_is_sure() -> None:
    """No number, 250 from the client whose invoice (1000 left) is in a plan expecting 250 next: sure, 250 paid."""
    invoices = [_invoice(1, "F-1", "1000", "Atelier Dupont", instalment="250"), _invoice(2, "F-2", "250", "Martin", 2)]
    outcome = _only([_line("a", "250.00", "ECHEANCE", counterparty="ATELIER DUPONT")], invoices)
    assert isinstance(outcome, Sure)
    assert (outcome.rule, outcome.allocations) == (MatchRule.AMOUNT_AND_NAME, (Allocation(1, D("250.00")),))


def test_plan_instalment_alone_is_sure_with_one_candidate() -> None:
    """An anonymous 250 and the only invoice expecting 250 is one in a plan: sure by amount, the balance goes down."""
    result = match([_line("a", "250")], [_invoice(1, "F-1", "1000", instalment="250"), _invoice(2, "F-2", "300")])
    assert [s.rule for s in result.sure] == [MatchRule.AMOUNT]
    assert result.balances == {1: D("750"), 2: D("300")}


def test_plan_instalment_shared_with_another_invoice_is_doubtful() -> None:
    """250 is one invoice's next instalment and another's balance: the owner picks, nothing is paid."""
    invoices = [_invoice(1, "F-1", "1000", "A SARL", 1, instalment="250"), _invoice(2, "F-2", "250", "B SAS", 2)]
    outcome = _only([_line("a", "250")], invoices)
    assert outcome == Doubtful(_line("a", "250"), (1, 2), DoubtReason.SEVERAL_INVOICES)


def test_plan_instalment_is_no_longer_expected_once_the_statement_paid_the_invoice() -> None:
    """A line naming the invoice pays 100 first: a later anonymous 250 no longer reads as its next instalment."""
    lines = [_line("a", "100", "F-2026-042"), _line("b", "250", booking_date=DAY + timedelta(days=1))]
    result = match(lines, [_invoice(1, "F-2026-042", "1000", instalment="250")])
    assert [s.rule for s in result.sure] == [MatchRule.NUMBER]
    assert result.unmatched == (Unmatched(lines[1]),)
    assert result.balances[1] == D("900")


def test_two_lines_of_one_plan_instalment_are_doubtful() -> None:
    """Two anonymous lines of the one instalment expected: neither is sure."""
    result = match([_line("a", "250"), _line("b", "250")], [_invoice(1, "F-1", "1000", instalment="250")])
    assert [o.reason for o in result.doubtful] == [DoubtReason.SEVERAL_LINES] * 2


# Lines that match nothing


def test_no_invoice_of_that_amount_is_unmatched() -> None:
    """Nothing fits: unmatched, no balance touched."""
    result = match([_line("a", "77.00", "LOYER")], [_invoice(1, "F-1", "100")])
    assert result.unmatched == (Unmatched(_line("a", "77.00", "LOYER")),)
    assert result.balances == {1: D("100")}


def test_line_in_a_currency_no_invoice_has_is_unmatched_with_reason() -> None:
    """A dollar credit of exactly a euro invoice's amount matches nothing."""
    outcome = _only([_line("a", "100", currency="USD")], [_invoice(1, "F-1", "100")])
    assert isinstance(outcome, Unmatched)
    assert outcome.reason is UnmatchedReason.OTHER_CURRENCY


def test_non_credits_and_repeated_lines_are_unmatched() -> None:
    """A zero amount is no credit; a line given twice is matched once."""
    lines = [_line("z", "0"), _line("a", "100", "F-1"), _line("a", "100", "F-1")]
    result = match(lines, [_invoice(1, "F-1", "300")])
    assert isinstance(result.outcomes[0], Sure)
    assert [o.reason for o in result.unmatched] == [UnmatchedReason.DUPLICATE_LINE, UnmatchedReason.NOT_A_CREDIT]
    assert result.balances[1] == D("200")


def test_an_invoice_given_twice_is_refused() -> None:
    """Two invoices with one id is the caller's mistake, said at once."""
    with pytest.raises(ValueError, match="invoice 1"):
        match([], [_invoice(1, "F-1", "1"), _invoice(1, "F-2", "1")])


# Properties

_AMOUNTS = st.sampled_from(["10.00", "25.50", "100.00", "250.00", "999.99"])


@st.composite
def _statements(draw: st.DrawFn) -> tuple[list[CreditLine], list[OpenInvoice]]:
    n_invoices = draw(st.integers(1, 12))
    invoices = [
        _invoice(
            i,
            f"F-2026-{i:03d}",
            draw(_AMOUNTS),
            f"Client {i % 4}",
            i % 4,
            currency=draw(st.sampled_from(["EUR", "EUR", "USD"])),
            instalment=draw(st.sampled_from([None, None, "10.00", "100.00", "250.00"])),
        )
        for i in range(1, n_invoices + 1)
    ]
    lines = []
    for j in range(draw(st.integers(0, 12))):
        named = draw(st.lists(st.integers(1, n_invoices + 2), max_size=3))
        remittance = " ".join(draw(st.sampled_from(["F{}", "f-2026-{}", "F.2026.{:04d}"])).format(n) for n in named)
        lines.append(
            _line(
                f"l{j}",
                draw(st.sampled_from(["10.00", "25.50", "100.00", "250.00", "999.99", "5000.00"])),
                remittance if not named else f"F2026{named[0]:03d} " + remittance,
                draw(st.sampled_from(["", "CLIENT 1 SARL", "client 2", "INCONNU"])),
                booking_date=DAY + timedelta(days=draw(st.integers(0, 3))),
                currency=draw(st.sampled_from(["EUR", "EUR", "EUR", "USD"])),
            )
        )
    return lines, invoices


@settings(max_examples=300, deadline=None)
@given(_statements())
def test_allocations_add_up_and_never_exceed_a_balance(statement: tuple[list[CreditLine], list[OpenInvoice]]) -> None:
    """Every sure line's allocations plus its overpaid make its amount; no invoice is paid beyond its balance."""
    lines, invoices = statement
    result = match(lines, invoices)
    original = {i.invoice_id: i.balance for i in invoices}
    paid: dict[int, Decimal] = {}
    for sure in result.sure:
        assert sum((a.amount for a in sure.allocations), D(0)) + sure.overpaid == sure.line.amount
        assert sure.overpaid >= 0
        for allocation in sure.allocations:
            assert allocation.amount > 0
            paid[allocation.invoice_id] = paid.get(allocation.invoice_id, D(0)) + allocation.amount
    for invoice_id, balance in original.items():
        assert paid.get(invoice_id, D(0)) <= balance
        assert result.balances[invoice_id] == balance - paid.get(invoice_id, D(0))
    assert len(result.outcomes) == len(lines)


@settings(max_examples=200, deadline=None)
@given(_statements(), st.randoms(use_true_random=False))
def test_result_does_not_depend_on_input_order(
    statement: tuple[list[CreditLine], list[OpenInvoice]], rng: random.Random
) -> None:
    """Shuffling the lines and the invoices gives the same outcomes."""
    lines, invoices = statement
    expected = match(lines, invoices)
    rng.shuffle(lines)
    rng.shuffle(invoices)
    again = match(lines, invoices)
    assert again.outcomes == expected.outcomes
    assert dict(again.balances) == dict(expected.balances)


@settings(max_examples=300, deadline=None)
@given(
    prefix=st.sampled_from(["F", "FA", "INV", ""]),
    groups=st.lists(st.integers(0, 99999), min_size=1, max_size=3),
    separator=st.sampled_from(["-", ".", "/", " ", " - "]),
    zeros=st.integers(0, 3),
    upper=st.booleans(),
)
def test_any_separator_case_or_padding_finds_the_number(
    prefix: str, groups: list[int], separator: str, zeros: int, upper: bool
) -> None:
    """An invoice number written with other separators, case and leading zeros is still found, and only once."""
    number = "-".join([prefix, *map(str, groups)] if prefix else map(str, groups))
    written = separator.join(
        [prefix, *("0" * zeros + str(g) for g in groups)] if prefix else ("0" * zeros + str(g) for g in groups)
    )
    written = written.upper() if upper else written.lower()
    index = NumberIndex.build([_invoice(1, number, "1")])
    assert find_numbers(f"VIR {written} MERCI", index) == ((1,),)
