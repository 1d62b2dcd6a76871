"""Autodesk Account's Token Usage export: one row per user, product and day.

Reads any of the three column-naming styles (the current export, the older snake_case export and
the Insights API's camelCase), from CSV or XLSX, into plain rows that say who used which product
on which day and what it cost; and writes such a file (for `flexsim synth-export`). Anything that
does not fit is one `UsageFileError` naming the file and the missing column or the bad row.

Row numbers are those a spreadsheet shows: the header is row 1, the first usage row is row 2.
"""

from __future__ import annotations

import codecs
import csv
import os
import re
import zipfile
from array import array
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import cached_property
from operator import itemgetter
from pathlib import Path
from typing import NamedTuple, NoReturn, overload

import numpy as np

from flexsim.defaults import DEFAULT_POOL
from flexsim.errors import UsageFileError
from flexsim.output.cells import csv_table, unquote_cell, xlsx_table
from flexsim.scenario.catalog import CATALOG, spelling_hint
from flexsim.scenario.limits import MAX_PACK_TOKENS
from flexsim.scenario.reading import open_input

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
STYLE_WORDS = {
    "current": "current export",
    "snake": "older exports",
    "camel": "Insights API",
    "tokenflex": "Token Flex enterprise export",  # per pool, product and day: flexsim.history.tokenflex
}

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


class UsageRow(NamedTuple):
    """One row of the export, normalised."""

    row: int  # as a spreadsheet numbers it (the header is row 1)
    team: str | None  # None: the file has no team column
    user: str
    product: str
    day: date
    tokens: int


class _Columns:
    """The rows of an export as compact columns (a few bytes per row, names stored once), so that
    an export of millions of rows fits in a few hundred megabytes."""

    def __init__(self) -> None:
        self.row = array("l")
        self.team = array("l")  # index into teams; -1: no team column
        self.user = array("l")
        self.product = array("l")
        self.day = array("l")  # date ordinal, or a slash date waiting for the file's order (< 0)
        self.tokens = array("q")
        self.teams: list[str] = []
        self.users: list[str] = []
        self.products: list[str] = []

    def __len__(self) -> int:
        return len(self.row)

    def masked(self, keep: np.ndarray) -> _Columns:
        """The rows where `keep` is true (the names lists are shared)."""
        out = _Columns()
        for name in ("row", "team", "user", "product", "day", "tokens"):
            column = getattr(self, name)
            kept = np.frombuffer(column, dtype=column.typecode)
            setattr(out, name, array(column.typecode, kept[keep].tobytes()))
        out.teams, out.users, out.products = self.teams, self.users, self.products
        return out


class _Rows(Sequence[UsageRow]):
    """The columns seen as a sequence of `UsageRow`, made one at a time as they are read."""

    def __init__(self, columns: _Columns) -> None:
        self._c = columns
        self._dates: dict[int, date] = {}

    def __len__(self) -> int:
        return len(self._c)

    def _date(self, ordinal: int) -> date:
        day = self._dates.get(ordinal)
        if day is None:
            day = self._dates[ordinal] = date.fromordinal(ordinal)
        return day

    def __iter__(self) -> Iterator[UsageRow]:
        c = self._c
        teams, users, products, when = c.teams, c.users, c.products, self._date
        for n, t, u, p, d, k in zip(c.row, c.team, c.user, c.product, c.day, c.tokens, strict=True):
            yield UsageRow(n, teams[t] if t >= 0 else None, users[u], products[p], when(d), k)

    @overload
    def __getitem__(self, index: int) -> UsageRow: ...

    @overload
    def __getitem__(self, index: slice) -> list[UsageRow]: ...

    def __getitem__(self, index: int | slice) -> UsageRow | list[UsageRow]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        c = self._c
        i = range(len(self))[index]
        t = c.team[i]
        return UsageRow(
            c.row[i], c.teams[t] if t >= 0 else None, c.users[c.user[i]], c.products[c.product[i]],
            self._date(c.day[i]), c.tokens[i],
        )  # fmt: skip


@dataclass
class Usage:
    """The rows of one export and what reading them found out."""

    source: str
    style: str  # 'current', 'snake', 'camel'
    columns: _Columns
    has_teams: bool
    identity: str  # in words: which column tells users apart
    notes: list[str] = field(default_factory=list)  # assumptions worth a line on standard error

    @cached_property
    def rows(self) -> _Rows:
        """Every row, as `UsageRow`s made on the fly."""
        return _Rows(self.columns)

    @cached_property
    def first_day(self) -> date:
        return date.fromordinal(min(self.columns.day))

    @cached_property
    def last_day(self) -> date:
        return date.fromordinal(max(self.columns.day))

    def before(self, day: date) -> Usage:
        """The rows dated before `day` (what was known on that day)."""
        days = np.frombuffer(self.columns.day, dtype=self.columns.day.typecode)
        kept = self.columns.masked(days < day.toordinal())
        return Usage(self.source, self.style, kept, self.has_teams, self.identity, list(self.notes))


# --------------------------------------------------------------------------------------------
# tables: CSV or XLSX, as a header and numbered rows of cells


def _fold(name: object) -> str:
    return re.sub(r"[\s_\-]+", "", str(name or "")).casefold()


def read_table(
    path: str | os.PathLike[str],
) -> tuple[Sequence[object], Iterator[tuple[int, Sequence[object]]]]:
    """The header and the (row number, cells) that follow it, from a CSV or an XLSX file.

    The file is read as a stream (a few megabytes at a time), whatever its size; it must be a
    regular file (not a pipe or a device)."""
    source = os.fspath(path)
    p = Path(source)
    if p.suffix.lower() in (".xls", ".xlsm", ".ods", ".numbers"):
        raise UsageFileError(f"can't read {p.suffix} files: save the sheet as CSV (or XLSX)", source)
    open_input(source, lambda m: UsageFileError(m, source)).close()  # a regular file, or one line why not
    table = _xlsx_rows(p, source) if p.suffix.lower() == ".xlsx" else _csv_rows(p, source)
    for _number, cells in table:
        if any(str(c).strip() for c in cells if c is not None):
            return cells, table
    raise UsageFileError(
        "the file is empty: expected a header row, then one row per user, product and day", source
    )


_CHUNK = 1 << 22


def _encoding(p: Path, source: str) -> str:
    """UTF-16 (with its byte-order mark), else UTF-8, else Windows-1252, checked over the whole file
    chunk by chunk; a file holding NUL bytes is not text."""
    with open_input(source, lambda m: UsageFileError(m, source)) as handle:
        try:
            head = handle.read(4)
        except OSError as exc:
            raise UsageFileError(f"cannot read the file: {exc.strerror or exc}", source) from None
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "utf-16"
    offset = 0
    for encoding in ("utf-8-sig", "cp1252"):
        decoder = codecs.getincrementaldecoder(encoding)()
        offset = 0
        try:
            with open_input(source, lambda m: UsageFileError(m, source)) as handle:
                while chunk := handle.read(_CHUNK):
                    if b"\0" in chunk:
                        raise UsageFileError(
                            "not a text file (it holds NUL bytes): expected CSV text, or an "
                            "workbook saved with the .xlsx extension",
                            source,
                        )
                    decoder.decode(chunk)
                    offset += len(chunk)
                decoder.decode(b"", final=True)
            return encoding
        except UnicodeDecodeError as exc:
            offset += exc.start
        except OSError as exc:
            raise UsageFileError(f"cannot read the file: {exc.strerror or exc}", source) from None
    raise UsageFileError(
        f"not a text file (bad byte at offset {offset}): expected CSV text or an .xlsx workbook", source
    )


def _csv_rows(p: Path, source: str) -> Iterator[tuple[int, Sequence[object]]]:
    encoding = _encoding(p, source)
    number = 0
    try:
        with open(source, encoding=encoding, newline="") as text:
            first = ""
            while not first.strip():
                line = text.readline(1 << 20)
                if not line:
                    break
                first = line
            text.seek(0)
            delimiter = max(",;\t", key=first.count) if first else ","
            for number, cells in enumerate(csv.reader(_lines(text, source), delimiter=delimiter), start=1):
                yield number, cells
    except csv.Error as exc:
        raise UsageFileError(f"not valid CSV: {exc}", source, number + 1) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageFileError(
            f"cannot read the file: {getattr(exc, 'strerror', None) or exc}", source
        ) from None


_MAX_LINE = 1 << 24


def _lines(text, source: str) -> Iterator[str]:
    """The file's lines, none longer than 16 MiB (so one endless line can't fill the memory)."""
    while line := text.readline(_MAX_LINE):
        if len(line) >= _MAX_LINE and not line.endswith(("\n", "\r")):
            raise UsageFileError("a line is longer than 16 MiB: not a usage export", source)
        yield line


# An .xlsx is a zip of XML parts: refuse before parsing what would unpack beyond these.
_XLSX_PART_LIMIT = 512 * 1024 * 1024
_XLSX_TOTAL_LIMIT = 1024 * 1024 * 1024
_XLSX_RATIO_LIMIT = 200  # real workbooks pack about 5 to 20 times
_XLSX_CELL_LIMIT = 1 << 20  # bytes of one cell's text (or of any text between two tags)


def _check_zip(p: Path, source: str) -> None:
    try:
        with zipfile.ZipFile(p) as book:
            parts = book.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise UsageFileError(f"not a readable .xlsx workbook ({type(exc).__name__})", source) from None
    total = 0
    for part in parts:
        total += part.file_size
        ratio = part.file_size / max(part.compress_size, 1)
        if part.file_size > _XLSX_PART_LIMIT or (part.file_size > (16 << 20) and ratio > _XLSX_RATIO_LIMIT):
            raise UsageFileError(
                f"the workbook's part {part.filename!r} unpacks to {part.file_size:,} bytes "
                f"({ratio:,.0f} times its packed size): too large to be a usage export; save it as CSV",
                source,
            )
    if total > _XLSX_TOTAL_LIMIT:
        raise UsageFileError(
            f"the workbook unpacks to {total:,} bytes: too large to be a usage export; save it as CSV", source
        )
    try:
        with zipfile.ZipFile(p) as book:
            for part in parts:
                if part.filename.endswith(".xml"):
                    _check_cells(book, part, source)
    except UsageFileError:
        raise
    except (zipfile.BadZipFile, OSError, ValueError, EOFError, RuntimeError) as exc:
        raise UsageFileError(f"not a readable .xlsx workbook ({type(exc).__name__})", source) from None


def _check_cells(book: zipfile.ZipFile, part: zipfile.ZipInfo, source: str) -> None:
    """Refuse a text between two XML tags (a cell) longer than _XLSX_CELL_LIMIT, and a part that
    unpacks to more than its header said: the XML parser would take minutes over either."""
    run = seen = 0  # bytes since the last '<', bytes unpacked
    with book.open(part) as stream:
        while chunk := stream.read(1 << 22):
            seen += len(chunk)
            if seen > part.file_size:
                raise UsageFileError(
                    f"the workbook's part {part.filename!r} unpacks to more than the {part.file_size:,} "
                    "bytes its header says: not a usage export",
                    source,
                )
            pieces = chunk.split(b"<")
            longest = run + len(pieces[0])
            if len(pieces) > 1:
                longest = max(longest, max(map(len, pieces[1:-1]), default=0))
                run = len(pieces[-1])
            else:
                run = longest
            if max(longest, run) > _XLSX_CELL_LIMIT:
                raise UsageFileError(
                    f"the workbook's part {part.filename!r} holds a cell of more than "
                    f"{_XLSX_CELL_LIMIT:,} bytes: not a usage export (names, e-mails and dates are short)",
                    source,
                )


def _xlsx_rows(p: Path, source: str) -> Iterator[tuple[int, Sequence[object]]]:
    try:
        import openpyxl
    except ImportError:
        raise UsageFileError(
            "reading .xlsx files needs openpyxl: python -m pip install "
            "'flexsim[xlsx]' (or save the sheet as CSV)",
            source,
        ) from None
    _check_zip(p, source)
    try:
        book = openpyxl.load_workbook(p, read_only=True, data_only=True)
        sheet = book.worksheets[0]
        for sheet_candidate in book.worksheets:  # the first sheet whose header looks like an export
            first = next(sheet_candidate.iter_rows(max_row=1, values_only=True), ())
            if {"product", "day", "tokens"} <= {_FIELD_OF.get(_fold(c)) for c in first}:
                sheet = sheet_candidate
                break
    except UsageFileError:
        raise
    except Exception as exc:  # openpyxl and zipfile raise many kinds for a file that isn't .xlsx
        raise UsageFileError(f"not a readable .xlsx workbook ({type(exc).__name__})", source) from None
    return _sheet_rows(sheet, source)


def _sheet_rows(sheet, source: str) -> Iterator[tuple[int, Sequence[object]]]:
    i = 0
    try:
        for i, cells in enumerate(sheet.iter_rows(values_only=True), start=1):
            yield i, list(cells)
    except Exception as exc:  # a broken or hostile part found while streaming the sheet
        raise UsageFileError(f"not a readable .xlsx workbook ({type(exc).__name__})", source, i + 1) from None


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
            if text.isdigit():  # exactly, however long: float() would round it
                number = int(text)
            else:
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
    if number > MAX_PACK_TOKENS:
        raise UsageFileError(
            f"{column} is {number:,}: more tokens than flexsim counts (at most {MAX_PACK_TOKENS:,})",
            source,
            row,
        )
    return number


def _slash_code(a: int, b: int, year: int) -> int:
    """A slash date whose order is not known yet, as a negative number (ordinals are positive)."""
    return -(a * 1_000_000 + b * 10_000 + year)


def _slash_parts(code: int) -> tuple[int, int, int]:
    code = -code
    return code // 1_000_000, code // 10_000 % 100, code % 10_000


@dataclass
class Dates:
    """Dates as written. Slash dates (1/2/2026) are read in one order for the whole file: day first
    if some date of the file proves it (13/01/2026), else month first (with a note); a file that
    has both kinds is refused."""

    source: str
    column: str
    day_first: bool | None = None  # None: not settled yet
    first_slash: tuple[int, int, int, int] | None = None  # (row, a, b, year)
    first_day_first: tuple[int, int, int, int] | None = None
    first_month_first: tuple[int, int, int, int] | None = None

    def ordinal(self, value: object) -> int | None:
        """The date's ordinal; a negative code for a slash date while the order is not settled;
        None when it is not a date."""
        if isinstance(value, datetime):
            return value.date().toordinal()
        if isinstance(value, date):
            return value.toordinal()
        text = "" if value is None else str(value).strip()
        try:
            if m := _ISO.match(text):
                return date(int(m.group(1)), int(m.group(2)), int(m.group(3))).toordinal()
            if m := _DOTTED.match(text):
                return date(int(m.group(3)), int(m.group(2)), int(m.group(1))).toordinal()
            if m := _SLASH.match(text):
                a, b, year = int(m.group(1)), int(m.group(2)), int(m.group(3))
                if self.day_first is None:
                    return _slash_code(a, b, year)
                month, day = (b, a) if self.day_first else (a, b)
                return date(year, month, day).toordinal()
        except ValueError:
            return None
        return None

    def pending(self, code: int, row: int) -> None:
        """Note what a slash date says about the file's order."""
        a, b, year = _slash_parts(code)
        if self.first_slash is None:
            self.first_slash = (row, a, b, year)
        if a > 12 and self.first_day_first is None:
            self.first_day_first = (row, a, b, year)
        if b > 12 and self.first_month_first is None:
            self.first_month_first = (row, a, b, year)

    def settle(self) -> str | None:
        """Decide the order for the whole file; the note to show when no date said which."""
        a, b = self.first_day_first, self.first_month_first
        if a and b:
            raise UsageFileError(
                f"{self.column}: row {a[0]} is day/month/year ({a[1]}/{a[2]}/{a[3]}) but "
                f"row {b[0]} is month/day/year ({b[1]}/{b[2]}/{b[3]}); use one order "
                "(YYYY-MM-DD is safest)",
                self.source,
                max(a[0], b[0]),
            )
        self.day_first = a is not None
        if self.first_slash and not a and not b:
            row, x, y, year = self.first_slash
            return (
                f"{self.source}: the dates like {x}/{y}/{year} are read as month/day/year (none of them "
                "says which)"
            )
        return None

    def scan(self, values: Sequence[tuple[int, object]]) -> str | None:
        """Settle the order from every (row, value) of the file's date columns (a packs file)."""
        for row, value in values:
            code = self.ordinal(value)
            if code is not None and code < 0:
                self.pending(code, row)
        return self.settle()

    def parse(self, value: object, row: int) -> date:
        """The date, once the order is settled (`scan`), or a one-line error."""
        if self.day_first is None:
            self.settle()
        ordinal = self.ordinal(value)
        if ordinal is None:
            text = "" if value is None else str(value).strip()
            if _SLASH.match(text):
                raise UsageFileError(f"{self.column} {text} is not a valid date", self.source, row)
            self.fail(text, row)
        return date.fromordinal(ordinal)

    def fail(self, text: str, row: int) -> NoReturn:
        what = "empty" if not text else f"{text!r}, not a date"
        raise UsageFileError(
            f"{self.column} is {what}: expected YYYY-MM-DD (or MM/DD/YYYY)", self.source, row
        )

    def resolve_column(self, columns: _Columns) -> str | None:
        """Settle the order and turn the column's slash codes into ordinals; the note, if any."""
        note = self.settle()
        if self.first_slash is None:
            return note
        done: dict[int, int] = {}
        day = columns.day
        for i, code in enumerate(day):
            if code >= 0:
                continue
            ordinal = done.get(code)
            if ordinal is None:
                a, b, year = _slash_parts(code)
                month, d = (b, a) if self.day_first else (a, b)
                try:
                    ordinal = done[code] = date(year, month, d).toordinal()
                except ValueError:
                    raise UsageFileError(
                        f"{self.column} {a}/{b}/{year} is not a valid date", self.source, columns.row[i]
                    ) from None
            day[i] = ordinal
        return note


class _Cache(dict):
    """A memo of a per-cell function, emptied when it grows large (names repeat; rows don't)."""

    def __init__(self, fn, size: int = 1 << 18) -> None:
        super().__init__()
        self.fn, self.size = fn, size

    def __missing__(self, key):
        if len(self) >= self.size:
            self.clear()
        value = self[key] = self.fn(key)
        return value


def _index(names: list[str], where: dict[str, int], name: str) -> int:
    i = where.get(name)
    if i is None:
        i = where[name] = len(names)
        names.append(name)
    return i


def _plain(value: object) -> str:
    return " ".join(unquote_cell(str(value)).split()) if value is not None else ""


def read_usage(path: str | os.PathLike[str]) -> Usage:
    """Read a Token Usage export (CSV or XLSX, any naming style) into normalised rows.

    The file is read as a stream into compact columns: memory grows by a few tens of bytes per row.
    """
    source = os.fspath(path)
    header, table = read_table(source)
    from flexsim.history.tokenflex import is_tokenflex, read_tokenflex

    if is_tokenflex(header):
        return read_tokenflex(source, header, table)
    where, style = _columns(header, source)
    names = {f: str(header[i]).strip() for f, i in where.items()}
    days = Dates(source, names["day"])
    out = _Columns()
    team_at: dict[str, int] = {}
    user_at: dict[str, int] = {}
    product_at: dict[str, int] = {}
    products: dict[str, str] = {}
    spellings: dict[str, str] = {}
    identities: dict[str, int] = {}
    masked_rows: list[int] = []
    plain = _Cache(_plain)
    i_day, i_tokens, i_product = where["day"], where["tokens"], where["product"]
    i_team = where.get("team")
    ids = [(f, where[f]) for f in ("email", "hashed_id", "user_name") if f in where]
    i_first, i_last = where.get("first_name"), where.get("last_name")
    id_columns = [i for _f, i in ids] + [i for i in (i_first, i_last) if i is not None]
    width = 1 + max([i_day, i_tokens, i_product, i_team or 0, *id_columns])
    id_cells = itemgetter(*id_columns)

    def who_is(key) -> tuple[str, int] | None:
        """(which identity, user index) for the identity cells of a row; None: all masked."""
        cells = key if len(id_columns) > 1 else (key,)
        at = dict(zip(id_columns, cells, strict=True))
        f = ""
        for name, i in ids:
            value = plain[at[i]]
            if not _masked(value):
                f = name
                break
        else:
            first = plain[at[i_first]] if i_first is not None else ""
            last = plain[at[i_last]] if i_last is not None else ""
            value = " ".join(x for x in (first, last) if not _masked(x))
            if _masked(value):
                return None
            f = "name"
        # E-mail addresses ignore case: one user, spelt as first seen.
        user = spellings.setdefault(value.casefold(), value) if f == "email" else value
        return f, _index(out.users, user_at, user)

    def product_index(raw: object) -> int:
        text = plain[raw]
        return _index(out.products, product_at, canonical_product(text, products)) if text else -1

    who_of = _Cache(who_is)
    product_of = _Cache(product_index)
    team_of = _Cache(lambda raw: _index(out.teams, team_at, plain[raw] or DEFAULT_POOL))
    day_of = _Cache(days.ordinal)
    tokens_of = _Cache(lambda raw: None, 4096)
    row, team_col, user_col, product_col, day_col, tokens_col = (
        out.row,
        out.team,
        out.user,
        out.product,
        out.day,
        out.tokens,
    )
    for number, cells in table:
        if not any(cells):
            continue  # a blank line
        if len(cells) < width:
            cells = [*cells, *([None] * (width - len(cells)))]
        try:
            who = who_of[id_cells(cells)]
        except TypeError:  # an unhashable cell: never from CSV or openpyxl
            who = who_is(id_cells(cells))
        if who is None:
            if any(str(c).strip() for c in cells if c is not None):
                masked_rows.append(number)
            continue
        identities[who[0]] = identities.get(who[0], 0) + 1
        product = product_of[cells[i_product]]
        if product < 0:
            raise UsageFileError(f"{names['product']} is empty: expected a product name", source, number)
        raw_day = cells[i_day]
        day = day_of[raw_day]
        if day is None:
            days.fail("" if raw_day is None else str(raw_day).strip(), number)
        raw_tokens = cells[i_tokens]
        tokens = tokens_of[raw_tokens] if raw_tokens.__class__ is str else None
        if tokens is None:
            tokens = whole_tokens(raw_tokens, names["tokens"], source, number)
            if raw_tokens.__class__ is str:
                tokens_of[raw_tokens] = tokens
        if day < 0:
            days.pending(day, number)
        row.append(number)
        team_col.append(team_of[cells[i_team]] if i_team is not None else -1)
        user_col.append(who[1])
        product_col.append(product)
        day_col.append(day)
        tokens_col.append(tokens)
    if masked_rows and not len(out):
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
    if not len(out):
        raise UsageFileError("no usage rows under the header row", source, 2)
    note = days.resolve_column(out)
    used = [f for f in _IDENTITY if identities.get(f)]
    identity = " or ".join(_IDENTITY_WORDS[f] for f in used)
    notes = [note] if note else []
    if used and used[0] != "email" and "email" in where:
        notes.append(f"{source}: {names['email']} is masked: users are told apart by their {identity}")
    for product in sorted(set(out.products) - set(CATALOG)):
        hint = spelling_hint(product, CATALOG)
        extra = f" (did you mean {hint!r}?)" if hint else ""
        notes.append(
            f"{source}: {product!r} is not in flexsim's catalogue{extra}: kept as a product "
            "of its own, at the rate the export shows"
        )
    return Usage(source, style, out, "team" in where, identity, notes)


# --------------------------------------------------------------------------------------------
# writing an export


def usage_table(records: Sequence[dict[str, object]], style: str) -> tuple[list[str], list[list[object]]]:
    """Header and rows in a naming style; records are keyed by field ('team', 'email', 'day'...,
    as `_FIELD_OF` names them); a field the style has no column for is left out."""
    header = list(STYLES[style])
    keys = [_FIELD_OF[_fold(c)] for c in header]
    return header, [[record.get(k, "") for k in keys] for record in records]


def usage_csv_text(records: Sequence[dict[str, object]], style: str, raw: bool = False) -> str:
    """The export as CSV; text that a spreadsheet would run as a formula is kept as text unless `raw`."""
    return csv_table(*usage_table(records, style), raw)


def usage_xlsx_bytes(records: Sequence[dict[str, object]], style: str, raw: bool = False) -> bytes:
    """The same table as an .xlsx workbook (needs openpyxl); text cells are always strings."""
    return xlsx_table("Token Usage", *usage_table(records, style), raw)
