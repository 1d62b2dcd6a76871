"""Reading Autodesk Account's Token Usage export (SPEC section 6, DOMAIN "The usage export"):
the three naming styles, CSV and XLSX, masked users, and one clear line for a file that doesn't fit."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from flexsim.cli import main
from flexsim.history.usage_export import STYLES, UsageFileError, canonical_product, read_usage, usage_csv_text

CURRENT = "Team,First name,Last name,Email,Product,Feature,Day used,Tokens used\n"


def write(tmp_path: Path, text: str, name: str = "usage.csv", encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding=encoding)
    return path


def call(argv: list[object]) -> int:
    try:
        return main([str(a) for a in argv])
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else 1


RECORDS = [
    {
        "team": "Arch",
        "email": "ana@firm.example",
        "first_name": "Ana",
        "last_name": "Lee",
        "hashed_id": "A1",
        "user_name": "ana",
        "product": "Revit",
        "feature": "Revit",
        "version": "2026",
        "day": "2026-03-02",
        "tokens": 10,
        "usage_type": "Flex",
        "offering_name": "Revit",
    },
    {
        "team": "Arch",
        "email": "ana@firm.example",
        "first_name": "Ana",
        "last_name": "Lee",
        "hashed_id": "A1",
        "user_name": "ana",
        "product": "Revit",
        "feature": "Revit",
        "version": "2025",
        "day": "2026-03-03",
        "tokens": 0,
        "usage_type": "Flex",
        "offering_name": "Revit",
    },
    {
        "team": "Civil",
        "email": "bo@firm.example",
        "first_name": "Bo",
        "last_name": "Ng",
        "hashed_id": "B2",
        "user_name": "bo",
        "product": "Civil 3D",
        "feature": "Civil 3D",
        "version": "2026",
        "day": "2026-03-03",
        "tokens": 9,
        "usage_type": "Flex",
        "offering_name": "Civil 3D",
    },
]


@pytest.mark.parametrize("style", sorted(STYLES))
def test_each_naming_style_reads_the_same_rows(tmp_path: Path, style: str) -> None:
    usage = read_usage(write(tmp_path, usage_csv_text(RECORDS, style)))
    assert usage.style == style
    got = [(r.row, r.user, r.product, r.day, r.tokens) for r in usage.rows]
    assert got == [
        (2, "ana@firm.example", "Revit", date(2026, 3, 2), 10),
        (3, "ana@firm.example", "Revit", date(2026, 3, 3), 0),  # 0 tokens: kept
        (4, "bo@firm.example", "Civil 3D", date(2026, 3, 3), 9),
    ]
    # The camel style (the Insights API) has no team column: one pool.
    assert [r.team for r in usage.rows] == ([None] * 3 if style == "camel" else ["Arch", "Arch", "Civil"])


def test_headers_ignore_case_spaces_order_and_extra_columns(tmp_path: Path) -> None:
    text = (
        " TOKENS USED ;Cost centre; day_USED ;product;EMAIL\n"
        "7;X1;2026-01-05;AutoCAD;Dana@Firm.example\n"
        "7;X1;2026-01-06;autocad;dana@firm.example\n"
    )
    usage = read_usage(write(tmp_path, "\ufeff" + text))
    assert {r.user for r in usage.rows} == {"Dana@Firm.example"}  # e-mail addresses ignore case
    assert {r.product for r in usage.rows} == {"AutoCAD"}  # the catalogue's spelling
    assert [r.tokens for r in usage.rows] == [7, 7]


def test_dates_iso_datetime_and_month_first(tmp_path: Path) -> None:
    rows = [
        "T,,,a@x.example,Revit,,2026-03-04T00:00:00Z,10",
        "T,,,a@x.example,Revit,,03/05/2026,10",
        "T,,,a@x.example,Revit,,2026-03-06 00:00:00,10",
        "T,,,a@x.example,Revit,,12/31/2026,10",
    ]
    usage = read_usage(write(tmp_path, CURRENT + "\n".join(rows) + "\n"))
    assert [r.day for r in usage.rows] == [
        date(2026, 3, 4),
        date(2026, 3, 5),
        date(2026, 3, 6),
        date(2026, 12, 31),
    ]


def test_day_first_slash_dates_are_recognised_when_the_file_proves_it(tmp_path: Path) -> None:
    rows = ["T,,,a@x.example,Revit,,03/05/2026,10", "T,,,a@x.example,Revit,,25/05/2026,10"]
    usage = read_usage(write(tmp_path, CURRENT + "\n".join(rows) + "\n"))
    assert [r.day for r in usage.rows] == [date(2026, 5, 3), date(2026, 5, 25)]
    ambiguous = read_usage(write(tmp_path, CURRENT + rows[0] + "\n"))
    assert ambiguous.rows[0].day == date(2026, 3, 5)
    assert any("month/day/year" in n for n in ambiguous.notes)


def test_hashed_and_masked_users(tmp_path: Path) -> None:
    snake = (
        "team_alias,email,first_name,last_name,product_name,day_used,tokens_used,hashed_autodesk_id\n"
        "T,*****,*****,*****,Revit,2026-03-02,10,9F3A\n"
        "T,*****,*****,*****,Revit,2026-03-02,10,77C1\n"
    )
    usage = read_usage(write(tmp_path, snake))
    assert [r.user for r in usage.rows] == ["9F3A", "77C1"]
    assert "hashed Autodesk ID" in usage.identity
    assert any("masked" in n for n in usage.notes)
    hashed = CURRENT + "T,5d41402a,7d793037,e3b0c442,Revit,,2026-03-02,10\n"
    assert read_usage(write(tmp_path, hashed)).rows[0].user == "e3b0c442"


def test_product_names_meet_the_catalogue() -> None:
    seen: dict[str, str] = {}
    assert canonical_product("REVIT") == "Revit"
    assert canonical_product("Autodesk Civil 3D") == "Civil 3D"
    assert canonical_product("Fusion 360") == "Fusion"
    assert canonical_product("Plant 3D", seen) == "Plant 3D"
    assert canonical_product("PLANT 3D", seen) == "Plant 3D"  # one product, first spelling


def test_unknown_product_is_kept_with_a_note(tmp_path: Path) -> None:
    usage = read_usage(write(tmp_path, CURRENT + "T,,,a@x.example,Revitt,,2026-03-02,12\n"))
    assert usage.rows[0].product == "Revitt"
    assert any("'Revitt' is not in flexsim's catalogue (did you mean 'Revit'?)" in n for n in usage.notes)


def test_xlsx_reads_like_csv(tmp_path: Path) -> None:
    pytest.importorskip("openpyxl")
    from flexsim.history.usage_export import usage_xlsx_bytes

    path = tmp_path / "usage.xlsx"
    path.write_bytes(usage_xlsx_bytes(RECORDS, "current"))
    from_xlsx = read_usage(path)
    from_csv = read_usage(write(tmp_path, usage_csv_text(RECORDS, "current")))
    assert [(r.row, r.team, r.user, r.product, r.day, r.tokens) for r in from_xlsx.rows] == [
        (r.row, r.team, r.user, r.product, r.day, r.tokens) for r in from_csv.rows
    ]


BAD = [
    (
        "missing-day",
        "Team,Email,Product,Tokens used\nT,a@x.example,Revit,10\n",
        "usage.csv: row 1: no day column: expected 'Day used' (current export), 'day_used' (older "
        "exports) or 'usageDate' (Insights API)",
    ),
    (
        "missing-tokens",
        "email,product_name,day_used\na@x.example,Revit,2026-01-05\n",
        "row 1: no tokens column: expected 'tokens_used' (older exports)",
    ),
    (
        "missing-product",
        "productName_x,usageDate,tokens,emailAddress\nRevit,2026-01-05,10,a@x.example\n",
        "row 1: no product column: expected 'productName' (Insights API)",
    ),
    ("missing-user", "Team,Product,Day used,Tokens used\nT,Revit,2026-01-05,10\n", "row 1: no user column"),
    (
        "bad-date",
        CURRENT + "T,,,a@x.example,Revit,,2026-01-05,10\nT,,,a@x.example,Revit,,2026-13-05,10\n",
        "usage.csv: row 3: Day used is '2026-13-05', not a date: expected YYYY-MM-DD",
    ),
    ("text-date", CURRENT + "T,,,a@x.example,Revit,,last tuesday,10\n", "row 2: Day used is 'last tuesday'"),
    ("empty-date", CURRENT + "T,,,a@x.example,Revit,,,10\n", "row 2: Day used is empty"),
    (
        "mixed-date-order",
        CURRENT + "T,,,a@x.example,Revit,,25/01/2026,10\nT,,,a@x.example,Revit,,01/25/2026,10\n",
        "row 3: Day used: row 2 is day/month/year (25/1/2026) but row 3 is month/day/year",
    ),
    (
        "bad-number",
        CURRENT + "T,,,a@x.example,Revit,,2026-01-05,ten\n",
        "usage.csv: row 2: Tokens used is 'ten': expected a whole number of tokens (0 or more)",
    ),
    ("fraction", CURRENT + "T,,,a@x.example,Revit,,2026-01-05,7.5\n", "row 2: Tokens used is '7.5'"),
    ("negative", CURRENT + "T,,,a@x.example,Revit,,2026-01-05,-7\n", "row 2: Tokens used is -7"),
    ("empty-file", "", "usage.csv: the file is empty: expected a header row"),
    ("blank-lines", "\n\n  \n", "usage.csv: the file is empty"),
    ("header-only", CURRENT, "usage.csv: row 2: no usage rows under the header row"),
    ("no-product-name", CURRENT + "T,,,a@x.example,,,2026-01-05,7\n", "row 2: Product is empty"),
    (
        "all-masked",
        CURRENT + "T,*****,*****,*****,Revit,,2026-01-05,7\nT,*****,*****,*****,Revit,,2026-01-06,7\n",
        "usage.csv: every user is masked ('*****') or empty in Email, First name, Last name: flexsim can't "
        "tell users apart",
    ),
    (
        "one-masked-row",
        CURRENT + "T,,,a@x.example,Revit,,2026-01-05,7\nT,*****,*****,*****,Revit,,2026-01-06,7\n",
        "usage.csv: row 3: the user is masked",
    ),
    (
        "two-day-columns",
        "Email,Product,Day used,day_used,Tokens used\na@x.example,Revit,2026-01-05,2026-01-05,7\n",
        "row 1: columns 3 and 4 ('Day used' and 'day_used') both give the day",
    ),
]


@pytest.mark.parametrize(("text", "message"), [b[1:] for b in BAD], ids=[b[0] for b in BAD])
def test_a_file_that_does_not_fit_is_one_line_naming_the_column_or_row(
    tmp_path: Path, text: str, message: str
) -> None:
    path = write(tmp_path, text)
    with pytest.raises(UsageFileError) as info:
        read_usage(path)
    assert "\n" not in str(info.value)
    assert message in str(info.value).replace(str(tmp_path) + "/", ""), str(info.value)


@pytest.mark.parametrize("command", ["calibrate", "backtest"])
def test_bad_files_exit_2_from_the_command_line_without_a_traceback(
    tmp_path: Path, capsys, command: str
) -> None:
    path = write(tmp_path, CURRENT + "T,,,a@x.example,Revit,,2026-01-05,seven\n")
    out = tmp_path / "out.yaml"
    argv = [command, path, "-o", out] if command == "calibrate" else [command, path, "--split", "2026-01-05"]
    assert call(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert f"{path}: row 2: Tokens used is 'seven'" in err
    assert not out.exists()


def test_missing_files_and_other_formats(tmp_path: Path) -> None:
    with pytest.raises(UsageFileError, match="no such file"):
        read_usage(tmp_path / "nope.csv")
    with pytest.raises(UsageFileError, match="save the sheet as CSV"):
        read_usage(write(tmp_path, "x", "usage.xls"))
    (tmp_path / "bad.xlsx").write_bytes(b"not a zip")
    if pytest.importorskip("openpyxl"):
        with pytest.raises(UsageFileError, match="not a readable .xlsx workbook"):
            read_usage(tmp_path / "bad.xlsx")


def test_spreadsheet_encodings(tmp_path: Path) -> None:
    text = CURRENT + "T,Zoë,Brontë,,Revit,,2026-01-05,10\n"
    for encoding in ("utf-8-sig", "cp1252", "utf-16"):
        usage = read_usage(write(tmp_path, text, encoding=encoding))
        assert usage.rows[0].user == "Zoë Brontë", encoding
