"""Bank statement samples built on the fly: CAMT.053 (.001.02 and .001.08), OFX 1.x (French style, no header) and
OFX 2 XML, one CSV export per French bank profile, and large CAMT files for the bench.

Every realistic sample carries the same euro credits among debits. Real-world variations covered:
- CAMT.053 .001.02 / .001.08: `Sts` as text vs `Sts/Cd`, `Dbtr/Nm` vs `Dbtr/Pty/Nm`, `AmtDtls/TxAmt/Amt` vs
  `TxDtls/Amt`; a batched entry (two TxDtls, one with its own reference, one with a structured RF reference only),
  a debit, a pending entry, a USD credit, an entry with no reference and no details (label in AddtlNtryInf).
- OFX 1.x: no header block (or the OFXHEADER:100 one), unclosed leaves, CRLF, Windows-1252 accents, decimal
  commas with `+`, LANGUAGE FRA / FR / fre, TRNTYPE contradicting the sign, an empty MEMO before other fields.
- OFX 2: XML declaration and `<?OFX?>` instruction, dates with time and zone, points as decimals.
- CSV: Boursorama (UTF-8 BOM, quoted cells, ISO dates, one signed amount, account column); Caisse d'Épargne (the
  current 13-column export, Windows-1252, signed debit/credit columns; and the classic export with preamble,
  2-digit years and balance lines); Crédit Agricole (preamble, multi-line quoted labels, unsigned debit/credit);
  BNP Paribas (account preamble, unaccented headers, "Montant operation en euro"; a tab-separated categorised
  export); Société Générale (`="account"` preamble, Devise column); LCL (no header row, balance line; and the
  newer export with a header); Qonto (commas, point decimals, date-times, statuses pending/declined skipped);
  Shine (UTF-8 BOM, counterparty column, unsigned debit/credit); a generic export whose columns the owner names.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import IO
from xml.sax.saxutils import escape

IBAN = "FR7630006000011234567890189"
CAMT_VERSIONS = ("001.02", "001.08")


@dataclass(frozen=True)
class Tx:
    """One transaction inside a (possibly batched) CAMT entry."""

    amount: Decimal
    debtor: str = ""
    remittance: str = ""
    structured: str = ""
    reference: str = ""


@dataclass(frozen=True)
class Entry:
    """One CAMT entry (`Ntry`)."""

    amount: Decimal
    booked: date
    credit: bool = True
    status: str = "BOOK"
    currency: str = "EUR"
    reference: str = ""
    info: str = ""
    txs: tuple[Tx, ...] = field(default_factory=tuple)


CAMT_ENTRIES = (
    Entry(Decimal("1200.00"), date(2026, 11, 2), reference="2026110200001",
          txs=(Tx(Decimal("1200.00"), "Boulangerie Martin SARL", "Facture F-2026-042 merci"),)),
    Entry(Decimal("3450.00"), date(2026, 11, 3), reference="2026110300002",
          txs=(Tx(Decimal("1000.00"), "Dupont & Fils SAS", "F-2026-043", reference="B2026110300002-1"),
               Tx(Decimal("2450.00"), "Café Lumière", structured="RF18539007547034"))),
    Entry(Decimal("89.90"), date(2026, 11, 4), credit=False, reference="2026110400003",
          txs=(Tx(Decimal("89.90"), "EDF", "Prélèvement facture énergie"),)),
    Entry(Decimal("500.00"), date(2026, 11, 5), status="PDNG", reference="2026110500004",
          txs=(Tx(Decimal("500.00"), "Atelier Roux", "F-2026-050"),)),
    Entry(Decimal("250.00"), date(2026, 11, 6), currency="USD", reference="2026110600005",
          txs=(Tx(Decimal("250.00"), "Acme Corp", "Invoice F-2026-051"),)),
    Entry(Decimal("75.50"), date(2026, 11, 9), info="VIR SEPA M. PIERRE LEFÈVRE F-2026-052"),
)  # fmt: skip

# (booking date, amount, remittance, counterparty) of the euro credits every realistic sample holds.
EXPECTED_CAMT = (
    (date(2026, 11, 2), Decimal("1200.00"), "Facture F-2026-042 merci", "Boulangerie Martin SARL"),
    (date(2026, 11, 3), Decimal("1000.00"), "F-2026-043", "Dupont & Fils SAS"),
    (date(2026, 11, 3), Decimal("2450.00"), "RF18539007547034", "Café Lumière"),
    (date(2026, 11, 9), Decimal("75.50"), "VIR SEPA M. PIERRE LEFÈVRE F-2026-052", ""),
)
EXPECTED_CREDITS = ((date(2026, 11, 28), Decimal("1200.00")), (date(2026, 11, 27), Decimal("3450.00")))


def _ntry(entry: Entry, version: str) -> str:
    new = version >= "001.07"
    status = f"<Sts><Cd>{entry.status}</Cd></Sts>" if new else f"<Sts>{entry.status}</Sts>"
    indicator = "CRDT" if entry.credit else "DBIT"
    party = "Dbtr" if entry.credit else "Cdtr"
    details = []
    for tx in entry.txs:
        amount = f'<Amt Ccy="{entry.currency}">{tx.amount:.2f}</Amt>'
        amount = amount if new else f"<AmtDtls><TxAmt>{amount}</TxAmt></AmtDtls>"
        name = f"<Nm>{escape(tx.debtor)}</Nm>"
        name = f"<Pty>{name}</Pty>" if new else name
        remittance = f"<Ustrd>{escape(tx.remittance)}</Ustrd>" if tx.remittance else ""
        if tx.structured:
            remittance += f"<Strd><CdtrRefInf><Ref>{tx.structured}</Ref></CdtrRefInf></Strd>"
        refs = f"<AcctSvcrRef>{tx.reference}</AcctSvcrRef>" if tx.reference else ""
        details.append(
            f"<TxDtls><Refs>{refs}<EndToEndId>NOTPROVIDED</EndToEndId></Refs>{amount}"
            f"<CdtDbtInd>{indicator}</CdtDbtInd><RltdPties><{party}>{name}</{party}></RltdPties>"
            f"<RmtInf>{remittance}</RmtInf></TxDtls>"
        )
    reference = f"<AcctSvcrRef>{entry.reference}</AcctSvcrRef>" if entry.reference else ""
    info = f"<AddtlNtryInf>{escape(entry.info)}</AddtlNtryInf>" if entry.info else ""
    ntry_details = f"<NtryDtls>{''.join(details)}</NtryDtls>" if details else ""
    return (
        f'<Ntry><Amt Ccy="{entry.currency}">{entry.amount:.2f}</Amt><CdtDbtInd>{indicator}</CdtDbtInd>{status}'
        f"<BookgDt><Dt>{entry.booked}</Dt></BookgDt><ValDt><Dt>{entry.booked}</Dt></ValDt>{reference}"
        f"<BkTxCd><Domn><Cd>PMNT</Cd><Fmly><Cd>RCDT</Cd><SubFmlyCd>ESCT</SubFmlyCd></Fmly></Domn></BkTxCd>"
        f"{ntry_details}{info}</Ntry>\n"
    )


def _camt_head(version: str) -> str:
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.{version}"'
        ' xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">\n<BkToCstmrStmt><GrpHdr><MsgId>RELANCE-TEST-1'
        "</MsgId><CreDtTm>2026-11-30T06:00:00+01:00</CreDtTm></GrpHdr>\n"
    )


def _stmt(page: int, version: str, entries: Iterable[Entry]) -> str:
    return (
        f"<Stmt><Id>STMT-{page:05d}</Id><ElctrncSeqNb>{page}</ElctrncSeqNb><CreDtTm>2026-11-30T06:00:00+01:00"
        f"</CreDtTm><Acct><Id><IBAN>{IBAN}</IBAN></Id><Ccy>EUR</Ccy><Svcr><FinInstnId><BIC>AGRIFRPPXXX</BIC>"
        f"</FinInstnId></Svcr></Acct>\n<Bal><Tp><CdOrPrtry><Cd>OPBD</Cd></CdOrPrtry></Tp>"
        f'<Amt Ccy="EUR">10000.00</Amt><CdtDbtInd>CRDT</CdtDbtInd><Dt><Dt>2026-11-01</Dt></Dt></Bal>\n'
        f"{''.join(_ntry(e, version) for e in entries)}</Stmt>\n"
    )


def camt053(version: str = "001.08", entries: Iterable[Entry] = CAMT_ENTRIES) -> bytes:
    """A one-page CAMT.053 statement of the given version (namespace camt.053.<version>)."""
    return (_camt_head(version) + _stmt(1, version, entries) + "</BkToCstmrStmt></Document>\n").encode()


def big_entries(count: int, start: int = 0) -> Iterable[Entry]:
    """Varied entries for the bench: mostly single credits, every 10th batched (3 transactions), every 20th a debit."""
    day0 = date(2026, 1, 1)
    for i in range(start, start + count):
        booked = day0 + timedelta(days=i % 330)
        ref = f"B{i:09d}"
        if i % 20 == 19:
            yield Entry(Decimal("42.10"), booked, credit=False, reference=ref, txs=(Tx(Decimal("42.10"), "EDF"),))
        elif i % 10 == 9:
            parts = tuple(
                Tx(Decimal(100 + k), f"Client {i % 997:03d}-{k} SARL", f"Facture F-2026-{i:06d}-{k}") for k in range(3)
            )
            yield Entry(Decimal(303), booked, reference=ref, txs=parts)
        else:
            amount = Decimal(1000 + i % 9000) / 10
            tx = Tx(amount, f"Client {i % 997:03d} SAS", f"F-2026-{i:06d}")
            yield Entry(amount, booked, reference=ref, txs=(tx,))


def write_big_camt(path: Path, entries: int = 50_000, pages: int = 1_000, version: str = "001.08") -> Path:
    """A CAMT.053 of `pages` statements (`Stmt`) holding `entries` entries in all, written as it is generated."""
    per_page = max(entries // pages, 1)
    with open(path, "w", encoding="utf-8") as fh:
        _write_pages(fh, entries, pages, per_page, version)
    return path


def _write_pages(fh: IO[str], entries: int, pages: int, per_page: int, version: str) -> None:
    fh.write(_camt_head(version))
    done = 0
    for page in range(1, pages + 1):
        count = per_page if page < pages else entries - done
        fh.write(_stmt(page, version, big_entries(count, done)))
        done += count
    fh.write("</BkToCstmrStmt></Document>\n")


# ---------------------------------------------------------------------------------------------------------------
# OFX

_OFX_TRANSACTIONS = (
    # (TRNTYPE as the bank writes it, DTPOSTED, TRNAMT, FITID, NAME, MEMO): types that disagree with the sign on purpose
    ("DEBIT", "20261128", "+1200,00", "FR26112800001", "VIR SEPA BOULANGERIE MARTIN", "FACTURE F-2026-042"),
    ("CREDIT", "20261128", "-89,90", "FR26112800002", "PRLV SEPA EDF", ""),
    ("DIRECTDEP", "20261127", "3450,00", "FR26112700003", "VIR DUPONT & FILS", "F-2026-043 Régl. Café"),
    ("PAYMENT", "20261126", "-1234,56", "FR26112600004", "CB LEROY MERLIN", "CARTE 1234"),
)


def ofx1(*, header: bool = False, transactions: bool = True, language: str = "FRA") -> bytes:
    """OFX 1.x SGML the way French banks export it: no header block by default, leaves left unclosed, decimal
    commas, an odd LANGUAGE code, an empty MEMO, accents in Windows-1252 and TRNTYPEs contradicting the sign."""
    rows = []
    for kind, posted, amount, fitid, name, memo in _OFX_TRANSACTIONS if transactions else ():
        rows.append(
            f"<STMTTRN>\n<TRNTYPE>{kind}\n<DTPOSTED>{posted}\n<DTUSER>{posted}\n<TRNAMT>{amount}\n"
            f"<MEMO>{escape(memo)}\n<FITID>{fitid}\n<NAME>{escape(name)}\n</STMTTRN>\n"
        )
    head = (
        "OFXHEADER:100\nDATA:OFXSGML\nVERSION:102\nSECURITY:NONE\nENCODING:USASCII\nCHARSET:1252\n"
        "COMPRESSION:NONE\nOLDFILEUID:NONE\nNEWFILEUID:NONE\n\n"
        if header
        else ""
    )
    body = (
        f"<OFX>\n<SIGNONMSGSRSV1>\n<SONRS>\n<STATUS>\n<CODE>0\n<SEVERITY>INFO\n</STATUS>\n<DTSERVER>20261130\n"
        f"<LANGUAGE>{language}\n</SONRS>\n</SIGNONMSGSRSV1>\n<BANKMSGSRSV1>\n<STMTTRNRS>\n<TRNUID>00000000\n"
        f"<STATUS>\n<CODE>0\n<SEVERITY>INFO\n</STATUS>\n<STMTRS>\n<CURDEF>EUR\n<BANKACCTFROM>\n<BANKID>30004\n"
        f"<BRANCHID>00123\n<ACCTID>00012345678\n<ACCTTYPE>CHECKING\n</BANKACCTFROM>\n<BANKTRANLIST>\n"
        f"<DTSTART>20261101\n<DTEND>20261130\n{''.join(rows)}</BANKTRANLIST>\n<LEDGERBAL>\n<BALAMT>12345,67\n"
        f"<DTASOF>20261130\n</LEDGERBAL>\n</STMTRS>\n</STMTTRNRS>\n</BANKMSGSRSV1>\n</OFX>\n"
    )
    return (head + body).replace("\n", "\r\n").encode("cp1252")


def ofx2() -> bytes:
    """OFX 2.x XML (closed elements, XML declaration and OFX processing instruction, points as decimals)."""
    rows = "".join(
        f"<STMTTRN><TRNTYPE>{kind}</TRNTYPE><DTPOSTED>{posted}120000.000[+1:CET]</DTPOSTED>"
        f"<TRNAMT>{amount.replace(',', '.')}</TRNAMT><FITID>{fitid}</FITID><NAME>{escape(name)}</NAME>"
        f"<MEMO>{escape(memo)}</MEMO></STMTTRN>"
        for kind, posted, amount, fitid, name, memo in _OFX_TRANSACTIONS
    )
    return (
        '<?xml version="1.0" encoding="UTF-8" standalone="no"?>\n'
        '<?OFX OFXHEADER="200" VERSION="211" SECURITY="NONE" OLDFILEUID="NONE" NEWFILEUID="NONE"?>\n'
        "<OFX><SIGNONMSGSRSV1><SONRS><STATUS><CODE>0</CODE><SEVERITY>INFO</SEVERITY></STATUS>"
        "<DTSERVER>20261130</DTSERVER><LANGUAGE>FRA</LANGUAGE></SONRS></SIGNONMSGSRSV1><BANKMSGSRSV1><STMTTRNRS>"
        "<TRNUID>1</TRNUID><STATUS><CODE>0</CODE><SEVERITY>INFO</SEVERITY></STATUS><STMTRS><CURDEF>EUR</CURDEF>"
        "<BANKACCTFROM><BANKID>30004</BANKID><BRANCHID>00123</BRANCHID><ACCTID>00012345678</ACCTID>"
        "<ACCTTYPE>CHECKING</ACCTTYPE></BANKACCTFROM><BANKTRANLIST><DTSTART>20261101</DTSTART><DTEND>20261130"
        f"</DTEND>{rows}</BANKTRANLIST></STMTRS></STMTTRNRS></BANKMSGSRSV1></OFX>\n"
    ).encode()


# ---------------------------------------------------------------------------------------------------------------
# CSV exports, one per bank profile: two credits (EXPECTED_CREDITS) and two debits each.


def _lines(*rows: str) -> str:
    return "\r\n".join(rows) + "\r\n"


def bank_csv(profile: str, *, credits: bool = True) -> bytes:
    """The export of `profile` (a name of services.statements.csv_banks.PROFILES, or "generic"), in the bank's
    encoding; without credits when asked (a debit-only statement; not for credit_agricole, whose rows span lines)."""
    text, encoding = _CSV[profile]()
    if not credits:
        text = "".join(line for line in text.splitlines(keepends=True) if not _is_credit_row(line))
    return text.encode(encoding)


def _is_credit_row(line: str) -> bool:
    return any(marker in line for marker in ("1 200,00", "1200,00", "3 450,00", "3450,00", "1200.00", "3450.00"))


def _boursorama() -> tuple[str, str]:
    return _lines(
        '"dateOp";"dateVal";"label";"category";"categoryParent";"supplierFound";"amount";"comment";"accountNum";'
        '"accountLabel";"accountbalance"',
        '"2026-11-28";"2026-11-28";"VIR SEPA BOULANGERIE MARTIN FACTURE F-2026-042";"Virements reçus";'
        '"Virements";"boulangerie martin";"1 200,00";"";"00040123456";"BoursoBank";"12 345,67"',
        '"2026-11-27";"2026-11-27";"VIR INST DUPONT & FILS F-2026-043";"Virements reçus";"Virements";'
        '"dupont & fils";"3 450,00";"";"00040123456";"BoursoBank";"12 345,67"',
        '"2026-11-27";"2026-11-27";"PRLV SEPA EDF";"Électricité";"Logement";"edf";"-89,90";"";"00040123456";'
        '"BoursoBank";"12 345,67"',
        '"2026-11-26";"2026-11-25";"CARTE 25/11/26 LEROY MERLIN";"Bricolage";"Maison";"leroy merlin";'
        '"-1 234,56";"";"00040123456";"BoursoBank";"12 345,67"',
    ), "utf-8-sig"


def _caisse_epargne() -> tuple[str, str]:
    return _lines(
        "Date de comptabilisation;Libelle simplifie;Libelle operation;Reference;Informations complementaires;"
        "Type operation;Categorie;Sous categorie;Debit;Credit;Date operation;Date de valeur;Pointage operation",
        "28/11/2026;VIR SEPA BOULANGERIE MARTIN;VIR SEPA BOULANGERIE MARTIN;2611280001;FACTURE F-2026-042;"
        "Virement reçu;Revenus;Virements reçus;;+1200,00;28/11/2026;28/11/2026;0",
        "27/11/2026;VIR INST DUPONT ET FILS;VIR INST DUPONT ET FILS;2611270002;F-2026-043;Virement reçu;Revenus;"
        "Virements reçus;;+3450,00;27/11/2026;27/11/2026;0",
        "27/11/2026;PRLV EDF;PRLV SEPA EDF;2611270003;ÉNERGIE;Prélèvement;Logement;Électricité;-89,90;;"
        "27/11/2026;27/11/2026;0",
        "26/11/2026;CB LEROY MERLIN;CB LEROY MERLIN FACT 251126;2611260004;;Carte bancaire;Maison;Bricolage;"
        "-1234,56;;25/11/2026;26/11/2026;0",
    ), "cp1252"


def _credit_agricole() -> tuple[str, str]:
    return _lines(
        "Téléchargement du 30/11/2026;",
        ";",
        "SARL EXEMPLE;",
        "Compte de Dépôt carte n° 12345678901;",
        "Solde au 30/11/2026 12 345,67 €;",
        ";",
        "Liste des opérations du compte entre le 01/11/2026 et le 30/11/2026;",
        ";",
        "Date;Libellé;Débit euros;Crédit euros;",
        '28/11/2026;"VIREMENT EN VOTRE FAVEUR \r\nBOULANGERIE MARTIN \r\nFACTURE F-2026-042";;1 200,00;',
        '27/11/2026;"VIR INST RECU \r\nDUPONT & FILS \r\nF-2026-043";;3 450,00;',
        '27/11/2026;"PRELEVEMENT \r\nEDF";89,90;;',
        '26/11/2026;"PAIEMENT PAR CARTE \r\nLEROY MERLIN 25/11";1 234,56;;',
    ), "cp1252"


def _bnp_paribas() -> tuple[str, str]:
    return _lines(
        "Compte courant;Compte de chèques;12345678901;30/11/2026;;12 345,67",
        "",
        "Date operation;Libelle court;Type operation;Libelle operation;Montant operation en euro",
        "28/11/2026;VIR SEPA RECU;Virement reçu;VIR SEPA RECU /DE BOULANGERIE MARTIN /MOTIF FACTURE F-2026-042;"
        "1 200,00",
        "27/11/2026;VIR SEPA RECU;Virement reçu;VIR SEPA RECU /DE DUPONT ET FILS /MOTIF F-2026-043;3 450,00",
        "27/11/2026;PRLV SEPA EDF;Prélèvement;PRLV SEPA EDF /MOTIF ECHEANCE;-89,90",
        "26/11/2026;FACTURE CARTE;Carte;FACTURE CARTE DU 251126 LEROY MERLIN;-1 234,56",
    ), "cp1252"


def _societe_generale() -> tuple[str, str]:
    return _lines(
        '="00012345678";01/11/2026;30/11/2026;4;30/11/2026;12 345,67 EUR',
        "",
        "Date de l'opération;Libellé;Détail de l'écriture;Montant de l'opération;Devise",
        "28/11/2026;VIR RECU 2611280001;DE: BOULANGERIE MARTIN MOTIF: FACTURE F-2026-042;1 200,00;EUR",
        "27/11/2026;VIR INST RECU;DE: DUPONT ET FILS MOTIF: F-2026-043;3 450,00;EUR",
        "27/11/2026;PRELEVEMENT EUROPEEN;DE: EDF ID: FR46ZZZ005002;-89,90;EUR",
        "26/11/2026;CARTE X1234;CARTE X1234 25/11 LEROY MERLIN;-1 234,56;EUR",
    ), "cp1252"


def _lcl() -> tuple[str, str]:
    return _lines(
        "28/11/2026;1200,00;Virement;;VIR SEPA BOULANGERIE MARTIN FACTURE F-2026-042;;",
        "27/11/2026;3450,00;Virement;;VIR INST DUPONT & FILS F-2026-043;;",
        "27/11/2026;-89,90;Prélèvement;;PRLV SEPA EDF;;",
        "26/11/2026;-1234,56;Carte;;CB LEROY MERLIN 25/11/26;;",
        ";12345,67;;;Solde au 30/11/2026;;",
    ), "cp1252"


def _qonto() -> tuple[str, str]:
    return _lines(
        "Transaction ID,Status,Settlement date (UTC),Operation date (UTC),Total amount (incl. VAT),Currency,"
        "Counterparty name,Payment method,Initiator,Reference,Category",
        "tx-0001,settled,28-11-2026 09:14:03,28-11-2026 09:14:03,1200.00,EUR,BOULANGERIE MARTIN,transfer,,"
        "FACTURE F-2026-042,sales",
        "tx-0002,settled,27-11-2026 16:02:11,27-11-2026 16:02:10,3450.00,EUR,DUPONT & FILS,transfer,,F-2026-043,sales",
        "tx-0003,pending,29-11-2026 10:00:00,29-11-2026 10:00:00,500.00,EUR,ATELIER ROUX,transfer,,F-2026-050,sales",
        "tx-0004,settled,27-11-2026 06:00:00,27-11-2026 06:00:00,-89.90,EUR,EDF,direct_debit,,ECHEANCE,utility",
        "tx-0005,declined,26-11-2026 12:00:00,26-11-2026 12:00:00,-1234.56,EUR,LEROY MERLIN,card,Jeanne D.,,hardware",
    ), "utf-8"


def _shine() -> tuple[str, str]:
    return _lines(
        "Date de la valeur;Date de l'opération;Libellé;Nom de la contrepartie;Débit;Crédit;Catégorie;Commentaire",
        "28/11/2026;28/11/2026;Virement reçu FACTURE F-2026-042;Boulangerie Martin;;1200,00;Ventes;",
        "27/11/2026;27/11/2026;Virement instantané reçu F-2026-043;Dupont & Fils;;3450,00;Ventes;",
        "27/11/2026;27/11/2026;Prélèvement EDF;EDF;89,90;;Énergie;",
        "26/11/2026;25/11/2026;Paiement carte Leroy Merlin;Leroy Merlin;1234,56;;Fournitures;Rayonnages",
    ), "utf-8-sig"


def _generic() -> tuple[str, str]:
    return _lines(
        "Jour;Intitulé;Somme;Tiers",
        "28/11/26;FACTURE F-2026-042;1 200,00;Boulangerie Martin",
        "27/11/26;F-2026-043;3 450,00;Dupont & Fils",
        "27/11/26;EDF;-89,90;EDF",
        "26/11/26;Leroy Merlin;-1 234,56;Leroy Merlin",
    ), "utf-8"


def _caisse_epargne_classic() -> tuple[str, str]:
    return _lines(
        "Code de la banque : 11315;Code de l'agence : 00001;Date de début de téléchargement : 01/11/2026;"
        "Date de fin de téléchargement : 30/11/2026;;",
        "Numéro de compte : 08001234567;Nom du compte : COMPTE COURANT;Devise : EUR;;;",
        "Solde au 30/11/2026;;;;12 345,67;",
        "Date;Numéro d'opération;Libellé;Débit;Crédit;Détail;",
        "28/11/26;6543210;VIR SEPA BOULANGERIE MARTIN;;+1 200,00;FACTURE F-2026-042;",
        "27/11/26;6543211;VIR INST DUPONT ET FILS;;+3 450,00;F-2026-043;",
        "27/11/26;6543212;PRLV SEPA EDF;-89,90;;ECHEANCE;",
        "26/11/26;6543213;CB LEROY MERLIN;-1 234,56;;FACT 251126;",
        "Solde au 01/11/2026;;;;10 000,00;",
    ), "cp1252"


def _lcl_with_header() -> tuple[str, str]:
    return _lines(
        "Date;Date valeur;Libellé;Débit;Crédit",
        "28/11/2026;28/11/2026;VIR SEPA BOULANGERIE MARTIN FACTURE F-2026-042;;1200,00",
        "27/11/2026;27/11/2026;VIR INST DUPONT & FILS F-2026-043;;3450,00",
        "27/11/2026;27/11/2026;PRLV SEPA EDF;89,90;",
        "26/11/2026;25/11/2026;CB LEROY MERLIN;1234,56;",
    ), "cp1252"


def _bnp_paribas_categories() -> tuple[str, str]:
    return _lines(
        "Date operation\tCategorie operation\tSous Categorie operation\tLibelle operation\tMontant operation",
        "28/11/2026\tRevenus\tVirements reçus\tVIR SEPA RECU /DE BOULANGERIE MARTIN /MOTIF FACTURE F-2026-042\t1200,00",
        "27/11/2026\tRevenus\tVirements reçus\tVIR SEPA RECU /DE DUPONT ET FILS /MOTIF F-2026-043\t3450,00",
        "27/11/2026\tLogement\tÉnergie\tPRLV SEPA EDF\t-89,90",
    ), "utf-8"


# Other real layouts of the same banks: (profile, layout) -> the generator.
VARIANTS = {
    ("caisse_epargne", "classic export with account preamble and balance lines"): _caisse_epargne_classic,
    ("lcl", "newer export with a header row and debit/credit columns"): _lcl_with_header,
    ("bnp_paribas", "categorised export, tab-separated"): _bnp_paribas_categories,
}


def variant_csv(key: tuple[str, str]) -> bytes:
    """A variant export (see VARIANTS) in its encoding."""
    text, encoding = VARIANTS[key]()
    return text.encode(encoding)


GENERIC_COLUMNS = {"date": "Jour", "amount": "Somme", "label": "Intitulé", "counterparty": "Tiers"}
_CSV = {
    "boursorama": _boursorama,
    "caisse_epargne": _caisse_epargne,
    "credit_agricole": _credit_agricole,
    "bnp_paribas": _bnp_paribas,
    "societe_generale": _societe_generale,
    "lcl": _lcl,
    "qonto": _qonto,
    "shine": _shine,
    "generic": _generic,
}
BANK_PROFILES = tuple(name for name in _CSV if name != "generic")
