"""The built-in, dated catalogue of Flex daily rates (tokens per 24-hour window).

Autodesk changes rates from time to time and only some are confirmed, so the catalogue is dated
and every entry says whether it is confirmed. Scenario files override or extend it under
`products:`, and `flexsim calibrate` infers rates from a usage export (the most common tokens per
row), which beats any guess here.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass

CATALOG_DATE = "2026-11"

_UNCONFIRMED = (
    "unconfirmed estimate: override it under `products:` in the scenario, or infer it from your "
    "Token Usage export (`flexsim calibrate`)"
)


@dataclass(frozen=True)
class CatalogEntry:
    """One product's daily rate, with where it comes from."""

    rate: int
    confirmed: bool
    note: str = ""


CATALOG: dict[str, CatalogEntry] = {
    "AutoCAD": CatalogEntry(7, True, "Autodesk's published rate; includes the specialized toolsets"),
    "Revit": CatalogEntry(10, True, "Autodesk's published rate"),
    # Buyer's-guide figures: widely quoted but not confirmed by Autodesk's rate table.
    "3ds Max": CatalogEntry(6, False, "approximate figure from the buyer's guide; " + _UNCONFIRMED),
    "Civil 3D": CatalogEntry(9, False, "approximate figure from the buyer's guide; " + _UNCONFIRMED),
    "Fusion": CatalogEntry(
        2, False, "Fusion 360, approximate figure from the buyer's guide; " + _UNCONFIRMED
    ),
    "AutoCAD LT": CatalogEntry(3, False, _UNCONFIRMED),
    "Revit LT": CatalogEntry(4, False, _UNCONFIRMED),
    "Inventor": CatalogEntry(8, False, _UNCONFIRMED),
    "Maya": CatalogEntry(6, False, _UNCONFIRMED),
    "Navisworks": CatalogEntry(6, False, "Navisworks Manage; " + _UNCONFIRMED),
    "InfraWorks": CatalogEntry(5, False, _UNCONFIRMED),
    "Vault": CatalogEntry(3, False, "Vault Professional; " + _UNCONFIRMED),
}


def catalog_rates() -> dict[str, int]:
    """A fresh name -> rate dict, safe for the caller to merge the scenario's `products:` into."""
    return {name: entry.rate for name, entry in CATALOG.items()}


def spelling_hint(name: str, known: Iterable[str]) -> str | None:
    """The known name the user probably meant: same letters in another case, else the closest."""
    known = list(known)
    folded = name.casefold()
    for candidate in known:
        if candidate.casefold() == folded:
            return candidate
    by_fold = {k.casefold(): k for k in known}
    close = difflib.get_close_matches(folded, list(by_fold), n=1, cutoff=0.6)
    return by_fold[close[0]] if close else None


# Annual named-user subscription list prices, USD, United States, as published by Autodesk's
# online store around this date. They are LIST PRICES TO CHECK: they vary by country, year,
# term and reseller, and your quote is what counts. `flexsim calibrate` writes them into the
# scenario's `subscriptions:` block, commented as such, so that `flexsim advise` works at once.
LIST_PRICES_DATE = "2026-11"
SUBSCRIPTION_LIST_PRICES: dict[str, int] = {
    "AutoCAD": 2030,
    "Revit": 2985,
    "Civil 3D": 2990,
    "3ds Max": 1975,
    "Maya": 1975,
    "Inventor": 2760,
    "AutoCAD LT": 610,
    "Revit LT": 595,
    "Fusion": 680,
    "Navisworks": 3170,
    "InfraWorks": 1050,
    "Vault": 1390,
}
