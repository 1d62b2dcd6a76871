"""Autodesk Account's Token Usage export: one row per user, product and day.

Reads any of the three column-naming styles (the current export, the older snake_case export and
the Insights API's camelCase), from CSV or XLSX, into plain rows that say who used which product
on which day and what it cost; and writes such a file (for `flexsim synth-export`). Anything that
does not fit is one `UsageFileError` naming the file and the missing column or the bad row.

Row numbers are those a spreadsheet shows: the header is row 1, the first usage row is row 2.
"""

from __future__ import annotations

import csv
import io
import os
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import cached_property
from pathlib import Path

from flexsim.errors import ScenarioError
from flexsim.scenario.catalog import CATALOG, spelling_hint

__all__ = [
    "STYLES",
    "Dates",
    "Usage",
    "UsageFileError",
    "UsageRow",
    "canonical_product",
    "read_table",
    "read_usage",
    "usage_csv_text",
    "usage_xlsx_bytes",
    "whole_tokens",
]

# The three naming styles, column by column, as Autodesk writes them.
STYLES: dict[str, tuple[str, ...]] = {
    "current": ("Team", "First name", "Last name", "Email", "Product", "Feature", "Day used", "Tokens used"),
    "snake": (
        "team_alias",
        "email",
        "first_name",
        "last_name",
        "product_name",
        "version",
        "day_used",
        "tokens_used",
        "usage_type",
        "hashed_autodesk_id",
        "offering_name",
    ),
    "camel": ("productName", "usageDate", "version", "tokens", "emailAddress", "userName"),
}
STYLE_WORDS = {"current": "current export", "snake": "older exports", "camel": "Insights API"}

# What each column means, by its folded name (case, spaces, '_' and '-' ignored).
_FIELD_OF = {
    "team": "team", "teamalias": "team",
    "email": "email", "emailaddress": "email",
    "firstname": "first_name", "lastname": "last_name",
    "hashedautodeskid": "hashed_id", "username": "user_name",
    "product": "product", "productname": "product",
    "dayused": "day", "usagedate": "day",
    "tokensused": "tokens", "tokens": "tokens",
    # written by synth-export, ignored when reading (as is any other column)
    "feature": "feature", "version": "version", "usagetype": "usage_type",
    "offeringname": "offering_name",
}  # fmt: skip
_READ = ("team", "email", "first_name", "last_name", "hashed_id", "user_name", "product", "day", "tokens")
# Identity columns, most reliable first: each row's user is the first of these that is not masked.
_IDENTITY = ("email", "hashed_id", "user_name", "name")

# Product names that exports spell otherwise than the catalogue (folded, punctuation as spaces).
_PRODUCT_ALIASES = {
    "fusion 360": "Fusion",
    "autocad including specialized toolsets": "AutoCAD",
    "autocad incl specialized toolsets": "AutoCAD",
    "navisworks manage": "Navisworks",
    "vault professional": "Vault",
}
_ISO = re.compile(r"^(\d{4})[-/](\d{1,2})[-/](\d{1,2})(?:[T ][0-9:.]*(?:Z|[+-]\d{2}:?\d{2})?)?$")
_SLASH = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})(?: [0-9:.]+(?: ?[AaPp][Mm])?)?$")
_DOTTED = re.compile(r"^(\d{1,2})\.(\d{1,2})\.(\d{4})$")
_THOUSANDS = re.compile(r"^\d{1,3}(,\d{3})+$")


class UsageFileError(ScenarioError):
    """A usage or packs file that can't be read: one line naming the file and the row or column."""

    def __init__(self, message: str, file: str, row: int | None = None) -> None:
        super().__init__(message, file=file, path=f"row {row}" if row is not None else None)
        self.row = row


@dataclass(frozen=True)
class UsageRow:
    """One row of the export, normalised."""

    row: int  # as a spreadsheet numbers it (the header is row 1)
    team: str | None  # None: the file has no team column
    user: str
    product: str
    day: date
    tokens: int


@dataclass
class Usage:
    """The rows of one export and what reading them found out."""

    source: str
    style: str  # 'current', 'snake', 'camel'
    rows: list[UsageRow]
    has_teams: bool
    identity: str  # in words: which column tells users apart
    notes: list[str] = field(default_factory=list)  # assumptions worth a line on standard error

    @cached_property
    def first_day(self) -> date:
        return min(r.day for r in self.rows)

    @cached_property
    def last_day(self) -> date:
        return max(r.day for r in self.rows)

    def before(self, day: date) -> Usage:
        """The rows dated before `day` (what was known on that day)."""
        return Usage(
            self.source,
            self.style,
            [r for r in self.rows if r.day < day],
            self.has_teams,
            self.identity,
            list(self.notes),
        )


# --------------------------------------------------------------------------------------------
# tables: CSV or XLSX, as a header and numbered rows of cells


def _fold(name: object) -> str:
    return re.sub(r"[\s_\-]+", "", str(name or "")).casefold()


def read_table(path: str | os.PathLike[str]) -> tuple[list[object], Iterator[tuple[int, list[object]]]]:
    """The header and the (row number, cells) that follow it, from a CSV or an XLSX file."""
    source = os.fspath(path)
    p = Path(source)
    if p.suffix.lower() in (".xls", ".xlsm", ".ods", ".numbers"):
        raise UsageFileError(f"can't read {p.suffix} files: save the sheet as CSV (or XLSX)", source)
    try:
        if p.suffix.lower() == ".xlsx":
            table = _xlsx_rows(p, source)
        else:
            table = _csv_rows(p.read_bytes(), source)
    except FileNotFoundError:
        raise UsageFileError("no such file", source) from None
    except IsADirectoryError:
        raise UsageFileError("is a directory, not a file", source) from None
    except OSError as exc:
        raise UsageFileError(f"cannot read the file: {exc.strerror or exc}", source) from None
    for _number, cells in table:
        if any(str(c).strip() for c in cells if c is not None):
            return cells, table
    raise UsageFileError(
        "the file is empty: expected a header row, then one row per user, product and day", source
    )


def _decode(raw: bytes, source: str) -> str:
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        return raw.decode("utf-16")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        return raw.decode("cp1252")  # what spreadsheets on Windows save as "CSV"
    except UnicodeDecodeError as exc:
        raise UsageFileError(
            f"not a text file (bad byte at offset {exc.start}): expected CSV text or an .xlsx workbook",
            source,
        ) from None


def _csv_rows(raw: bytes, source: str) -> Iterator[tuple[int, list[object]]]:
    text = _decode(raw, source)
    if "\0" in text:
        raise UsageFileError(
            "not a text file (it holds NUL bytes): expected CSV text, or an "
            "workbook saved with the .xlsx extension",
            source,
        )
    first = next((line for line in text.splitlines() if line.strip()), "")
    delimiter = max(",;\t", key=first.count) if first else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    number = 0
    try:
        for number, cells in enumerate(reader, start=1):
            yield number, list(cells)
    except csv.Error as exc:
        raise UsageFileError(f"not valid CSV: {exc}", source, number + 1) from None


def _xlsx_rows(p: Path, source: str) -> Iterator[tuple[int, list[object]]]:
    try:
        import openpyxl
    except ImportError:
        raise UsageFileError(
            "reading .xlsx files needs openpyxl: python -m pip install "
            "'flexsim[xlsx]' (or save the sheet as CSV)",
            source,
        ) from None
    if not p.is_file():
        p.read_bytes()  # the usual error for a missing file or a folder
    try:
        book = openpyxl.load_workbook(p, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl and zipfile raise many kinds for a file that isn't .xlsx
        raise UsageFileError(f"not a readable .xlsx workbook ({type(exc).__name__})", source) from None
    sheet = book.worksheets[0]
    for sheet_candidate in book.worksheets:  # the first sheet whose header looks like an export
        first = next(sheet_candidate.iter_rows(max_row=1, values_only=True), ())
        if {"product", "day", "tokens"} <= {_FIELD_OF.get(_fold(c)) for c in first}:
            sheet = sheet_candidate
            break
    return ((i, list(cells)) for i, cells in enumerate(sheet.iter_rows(values_only=True), start=1))


# --------------------------------------------------------------------------------------------
# the export


def _style_of(header: Sequence[object]) -> str:
    folded = {_fold(c) for c in header}
    return max(STYLES, key=lambda s: sum(_fold(c) in folded for c in STYLES[s]))


def _expected(field_name: str, style: str) -> str:
    """The column names that would do for `field_name`, the file's own style first."""
    names = []
    for s in sorted(STYLES, key=lambda s: s != style):
        for column in STYLES[s]:
            if _FIELD_OF.get(_fold(column)) == field_name:
                names.append(f"{column!r} ({STYLE_WORDS[s]})")
    return ", ".join(names[:-1]) + " or " + names[-1] if len(names) > 1 else names[0]


def _columns(header: Sequence[object], source: str) -> tuple[dict[str, int], str]:
    """Field -> column index, and the naming style; a missing required column is an error."""
    style = _style_of(header)
    where: dict[str, int] = {}
    for i, name in enumerate(header):
        f = _FIELD_OF.get(_fold(name))
        if f not in _READ:
            continue  # Feature, version, usage_type ... and anything else: not needed
        if f in where:
            raise UsageFileError(
                f"columns {where[f] + 1} and {i + 1} ({header[where[f]]!r} and "
                f"{name!r}) both give the {f.replace('_', ' ')}: keep one",
                source,
                1,
            )
        where[f] = i
    shown = ", ".join(str(c).strip() for c in header if c is not None and str(c).strip())
    for f in ("product", "day", "tokens"):
        if f not in where:
            raise UsageFileError(
                f"no {f} column: expected {_expected(f, style)}; the header row has {shown or 'nothing'}",
                source,
                1,
            )
    has_name = "first_name" in where or "last_name" in where
    if not ({"email", "hashed_id", "user_name"} & set(where) or has_name):
        raise UsageFileError(
            f"no user column: expected {_expected('email', style)} (or the user's "
            f"name or hashed ID); the header row has {shown}",
            source,
            1,
        )
    return where, style


def _masked(value: str) -> bool:
    """Empty, or hidden by the privacy setting ('*****')."""
    return not value or set(value) <= {"*"}


def _text(cells: Sequence[object], where: dict[str, int], f: str) -> str:
    i = where.get(f)
    if i is None or i >= len(cells) or cells[i] is None:
        return ""
    return " ".join(str(cells[i]).split())


def _identity(cells: Sequence[object], where: dict[str, int]) -> tuple[str, str] | None:
    """(which identity, the user) for a row: email, else hashed ID, else user name, else name."""
    for f in _IDENTITY:
        if f == "name":
            first, last = _text(cells, where, "first_name"), _text(cells, where, "last_name")
            parts = [x for x in (first, last) if not _masked(x)]
            value = " ".join(parts)
        else:
            value = _text(cells, where, f)
        if not _masked(value):
            return f, value
    return None


_IDENTITY_WORDS = {
    "email": "e-mail address",
    "hashed_id": "hashed Autodesk ID",
    "user_name": "user name",
    "name": "first and last name",
}


def canonical_product(name: str, seen: dict[str, str] | None = None) -> str:
    """The catalogue's spelling of a product an export names otherwise ('REVIT', 'Autodesk Revit',
    'Fusion 360'); else the name as first seen (in `seen`, by folded name)."""
    plain = re.sub(r"[^0-9a-z]+", " ", name.casefold()).strip()
    for candidate in (plain, plain.removeprefix("autodesk ")):
        if candidate in _PRODUCT_ALIASES:
            return _PRODUCT_ALIASES[candidate]
        for known in CATALOG:
            if re.sub(r"[^0-9a-z]+", " ", known.casefold()).strip() == candidate:
                return known
    if seen is None:
        return name
    return seen.setdefault(name.casefold(), name)


def whole_tokens(value: object, column: str, source: str, row: int) -> int:
    if isinstance(value, bool):
        value = str(value)
    if isinstance(value, int):
        number = value
    elif isinstance(value, float) and value.is_integer():
        number = int(value)
    else:
        text = "" if value is None else str(value).strip()
        if _THOUSANDS.match(text):
            text = text.replace(",", "")
        try:
            as_float = float(text)
            if not as_float.is_integer():
                raise ValueError
            number = int(as_float)
        except (ValueError, OverflowError):
            what = "empty" if not text else f"{text!r}"
            raise UsageFileError(
                f"{column} is {what}: expected a whole number of tokens (0 or more)", source, row
            ) from None
    if number < 0:
        raise UsageFileError(
            f"{column} is {number}: expected a whole number of tokens (0 or more)", source, row
        )
    return number


@dataclass
class Dates:
    """Dates as written; slash dates wait until the whole file says which order they are in."""

    source: str
    column: str
    slash: list[tuple[int, int, int, int]] = field(default_factory=list)  # (row, a, b, year)

    def parse(self, value: object, row: int) -> date | None:
        """The date, or None for a slash date (resolved in `resolve`)."""
        if isinstance(value, datetime):
            return value.date()
        if isinstance(value, date):
            return value
        text = "" if value is None else str(value).strip()
        try:
            if m := _ISO.match(text):
                return date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
            if m := _DOTTED.match(text):
                return date(int(m.group(3)), int(m.group(2)), int(m.group(1)))
        except ValueError:
            self.fail(text, row)
        if m := _SLASH.match(text):
            self.slash.append((row, int(m.group(1)), int(m.group(2)), int(m.group(3))))
            return None
        self.fail(text, row)

    def fail(self, text: str, row: int):
        what = "empty" if not text else f"{text!r}, not a date"
        raise UsageFileError(
            f"{self.column} is {what}: expected YYYY-MM-DD (or MM/DD/YYYY)", self.source, row
        )

    def resolve(self) -> tuple[dict[int, date], str | None]:
        """Row -> date of the slash dates: month first unless some day-first date proves otherwise."""
        day_first = [r for r in self.slash if r[1] > 12]
        month_first = [r for r in self.slash if r[2] > 12]
        if day_first and month_first:
            a, b = day_first[0], month_first[0]
            raise UsageFileError(
                f"{self.column}: row {a[0]} is day/month/year ({a[1]}/{a[2]}/{a[3]}) but "
                f"row {b[0]} is month/day/year ({b[1]}/{b[2]}/{b[3]}); use one order "
                "(YYYY-MM-DD is safest)",
                self.source,
                b[0],
            )
        note = None
        if self.slash and not day_first and not month_first:
            note = (
                f"{self.source}: the dates like {self.slash[0][1]}/{self.slash[0][2]}/"
                f"{self.slash[0][3]} are read as month/day/year (none of them says which)"
            )
        out = {}
        for row, a, b, year in self.slash:
            month, day = (b, a) if day_first else (a, b)
            try:
                out[row] = date(year, month, day)
            except ValueError:
                raise UsageFileError(
                    f"{self.column} {a}/{b}/{year} is not a valid date", self.source, row
                ) from None
        return out, note


def read_usage(path: str | os.PathLike[str]) -> Usage:
    """Read a Token Usage export (CSV or XLSX, any naming style) into normalised rows."""
    source = os.fspath(path)
    header, table = read_table(source)
    where, style = _columns(header, source)
    names = {f: str(header[i]).strip() for f, i in where.items()}
    days = Dates(source, names["day"])
    products: dict[str, str] = {}
    pending: list[tuple[int, str | None, str, str, date | None, int]] = []
    identities: dict[str, int] = {}
    spellings: dict[str, str] = {}
    masked_rows: list[int] = []
    for number, cells in table:
        if not any(str(c).strip() for c in cells if c is not None):
            continue  # a blank line
        who = _identity(cells, where)
        if who is None:
            masked_rows.append(number)
            continue
        identities[who[0]] = identities.get(who[0], 0) + 1
        product = _text(cells, where, "product")
        if not product:
            raise UsageFileError(f"{names['product']} is empty: expected a product name", source, number)
        day = days.parse(cells[where["day"]] if where["day"] < len(cells) else None, number)
        tokens = whole_tokens(
            cells[where["tokens"]] if where["tokens"] < len(cells) else None, names["tokens"], source, number
        )
        team = (_text(cells, where, "team") or "main") if "team" in where else None
        # E-mail addresses ignore case: one user, spelt as first seen.
        user = spellings.setdefault(who[1].casefold(), who[1]) if who[0] == "email" else who[1]
        pending.append((number, team, user, canonical_product(product, products), day, tokens))
    if masked_rows and not pending:
        columns = ", ".join(
            names[f] for f in ("email", "hashed_id", "user_name", "first_name", "last_name") if f in names
        )
        raise UsageFileError(
            f"every user is masked ('*****') or empty in {columns}: flexsim can't tell "
            "users apart. Export again with user details shown, or with hashed IDs "
            "(the older export's hashed_autodesk_id column)",
            source,
        )
    if masked_rows:
        raise UsageFileError(
            "the user is masked ('*****') or empty in every user column, while other rows name their user",
            source,
            masked_rows[0],
        )
    if not pending:
        raise UsageFileError("no usage rows under the header row", source, 2)
    slash_days, note = days.resolve()
    rows = [
        UsageRow(n, team, user, product, day if day is not None else slash_days[n], tokens)
        for n, team, user, product, day, tokens in pending
    ]
    used = [f for f in _IDENTITY if identities.get(f)]
    identity = " or ".join(_IDENTITY_WORDS[f] for f in used)
    notes = [note] if note else []
    if used and used[0] != "email" and "email" in where:
        notes.append(f"{source}: {names['email']} is masked: users are told apart by their {identity}")
    for product in sorted({r.product for r in rows} - set(CATALOG)):
        hint = spelling_hint(product, CATALOG)
        extra = f" (did you mean {hint!r}?)" if hint else ""
        notes.append(
            f"{source}: {product!r} is not in flexsim's catalogue{extra}: kept as a product "
            "of its own, at the rate the export shows"
        )
    return Usage(source, style, rows, "team" in where, identity, notes)


# --------------------------------------------------------------------------------------------
# writing an export


def usage_table(records: Sequence[dict[str, object]], style: str) -> tuple[list[str], list[list[object]]]:
    """Header and rows in a naming style; records are keyed by field ('team', 'email', 'day'...,
    as `_FIELD_OF` names them); a field the style has no column for is left out."""
    header = list(STYLES[style])
    keys = [_FIELD_OF[_fold(c)] for c in header]
    return header, [[record.get(k, "") for k in keys] for record in records]


def usage_csv_text(records: Sequence[dict[str, object]], style: str) -> str:
    header, rows = usage_table(records, style)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue()


def usage_xlsx_bytes(records: Sequence[dict[str, object]], style: str) -> bytes:
    """The same table as an .xlsx workbook (needs openpyxl)."""
    import openpyxl

    header, rows = usage_table(records, style)
    book = openpyxl.Workbook(write_only=True)
    sheet = book.create_sheet("Token Usage")
    sheet.append(header)
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()
