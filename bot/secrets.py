"""The businesses' secrets (SMTP and IMAP passwords, Slack tokens) encrypted with RELANCE_SECRET_KEY (Fernet:
AES-128-CBC with an HMAC-SHA256 tag, from `cryptography`). Only ciphertext reaches the database; a plaintext is
never logged or printed (`relance business show` prints "••••")."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.settings import Settings

if TYPE_CHECKING:
    from cryptography.fernet import Fernet

#: The names of the secrets a business may have, and the CLI option setting each.
SECRET_NAMES = ("smtp_password", "imap_password", "slack_bot_token", "slack_app_token", "slack_signing_secret")
MASK = "••••"


class SecretKeyError(Exception):
    """RELANCE_SECRET_KEY is missing, malformed, or not the key the secrets were encrypted with."""


def cipher(settings: Settings) -> Fernet:
    """The Fernet cipher of RELANCE_SECRET_KEY; SecretKeyError when it is not set or not a Fernet key."""
    from cryptography.fernet import Fernet  # loaded when a secret is used, not at every start

    if settings.RELANCE_SECRET_KEY is None:
        raise SecretKeyError(
            "RELANCE_SECRET_KEY: not set; the businesses' passwords and tokens are stored encrypted with it "
            '(generate one: python -c "from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())")'
        )
    try:
        return Fernet(settings.RELANCE_SECRET_KEY.get_secret_value().encode("ascii"))
    except (ValueError, UnicodeEncodeError):
        raise SecretKeyError(
            "RELANCE_SECRET_KEY: not a Fernet key (32 bytes, url-safe base64: 44 characters)"
        ) from None


def encrypt(settings: Settings, plaintext: str) -> str:
    """The ciphertext (text) of `plaintext`."""
    return cipher(settings).encrypt(plaintext.encode("utf-8")).decode("ascii")


def decrypt(settings: Settings, ciphertext: str, *, name: str = "secret") -> str:
    """The plaintext of `ciphertext`; SecretKeyError when RELANCE_SECRET_KEY is not the key it was encrypted with."""
    from cryptography.fernet import InvalidToken

    try:
        return cipher(settings).decrypt(ciphertext.encode("ascii")).decode("utf-8")
    except InvalidToken:
        raise SecretKeyError(
            f"RELANCE_SECRET_KEY: cannot decrypt the stored {name} (not the key it was encrypted with, or the value "
            "was altered)"
        ) from None
