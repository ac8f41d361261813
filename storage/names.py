"""The matching key of a client name: two spellings with the same key are the same client of a business."""

from __future__ import annotations

import re
import unicodedata

#: What a spreadsheet or a hand changes without changing the client: straight and typographic quotes and
#: apostrophes, guillemets, backticks; whitespace of every kind; invisible characters (BOM, zero-width spaces,
#: joiners, soft hyphen, bidirectional marks).
_IGNORED = re.compile(
    "[\\s'\"`\u00b4\u2018\u2019\u201a\u201b\u201c\u201d\u201e\u201f\u2032\u2033\u00ab\u00bb\u2039\u203a"
    "\ufeff\u200b\u200c\u200d\u2060\u00ad\u200e\u200f\u202a-\u202e\u2066-\u2069]+"
)


def client_name_key(name: str) -> str:
    """The key under which a client name is unique in its business: case, quotes and spaces do not count.

    "L’Atelier  Dupont", "l'atelier dupont" and "L'ATELIER DUPONT" share the key "latelierdupont". Accents do
    count ("Mérieux" and "Merieux" stay two clients): dropping them could merge two real companies.
    """
    return _IGNORED.sub("", unicodedata.normalize("NFKC", name)).casefold()[:200]
