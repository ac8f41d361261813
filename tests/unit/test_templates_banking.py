"""IBAN/BIC validation used at start-up (messages.banking)."""

from __future__ import annotations

import pytest

from messages.banking import validate_payment_details


@pytest.mark.parametrize(
    ("iban", "bic"),
    [
        ("FR7630006000011234567890189", "AGRIFRPP"),
        ("FR76 3000 6000 0112 3456 7890 189", "AGRIFRPPXXX"),
        ("FR7630006000011234567890189", ""),
        ("", ""),
    ],
)
def test_valid_details_pass(iban: str, bic: str) -> None:
    """A correct IBAN (with or without spaces) and BIC, no BIC, or nothing at all is accepted."""
    validate_payment_details(iban, bic)


@pytest.mark.parametrize(
    ("iban", "bic", "variable"),
    [
        ("FR7630006000011234567890188", "AGRIFRPP", "COMPANY_IBAN"),  # wrong checksum
        ("FR76300060", "AGRIFRPP", "COMPANY_IBAN"),  # too short
        ("FR7630006000011234567890189", "AGRI", "COMPANY_BIC"),
        ("FR7630006000011234567890189", "AGRIXXPP", "COMPANY_BIC"),  # unknown country
        ("", "AGRIFRPP", "COMPANY_IBAN"),
    ],
)
def test_invalid_details_name_the_setting(iban: str, bic: str, variable: str) -> None:
    """A malformed IBAN or BIC is a ValueError naming the setting to fix."""
    with pytest.raises(ValueError, match=variable):
        validate_payment_details(iban, bic)
