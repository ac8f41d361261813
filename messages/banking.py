"""Payment details printed in every reminder: the IBAN and BIC are checked once, at start-up, with schwifty."""

from __future__ import annotations

from schwifty import BIC, IBAN
from schwifty.exceptions import SchwiftyException


def validate_payment_details(iban: str, bic: str) -> None:
    """Raise ValueError with a clear message if the IBAN or the BIC is malformed.

    Both empty is accepted (no bank details in the messages). A BIC without an IBAN is refused. A missing BIC
    is accepted (SEPA transfers only need the IBAN). The BIC's country is not required to match the IBAN's:
    some banks (online banks in particular) give French IBANs with a foreign BIC.
    """
    iban, bic = (iban or "").strip(), (bic or "").strip()
    if not iban and not bic:
        return
    if not iban:
        raise ValueError("COMPANY_IBAN: a BIC is set but the IBAN is missing / le BIC est renseigné mais pas l'IBAN")
    try:
        IBAN(iban)
    except SchwiftyException as exc:
        raise ValueError(
            f"COMPANY_IBAN: invalid IBAN ({exc}); expected e.g. FR76 3000 6000 0112 3456 7890 189 / IBAN invalide"
        ) from None
    if bic:
        try:
            BIC(bic)
        except SchwiftyException as exc:
            raise ValueError(
                f"COMPANY_BIC: invalid BIC ({exc}); expected 8 or 11 characters such as AGRIFRPP / BIC invalide"
            ) from None
