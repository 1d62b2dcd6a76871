"""flexsim calibrate (SPEC section 6): from a Token Usage export to a scenario `run` accepts, and
back again: a synthetic export of a known firm calibrates to that firm within binomial error."""

from __future__ import annotations

import time
from dataclasses import replace
from datetime import date
from pathlib import Path

import numpy as np
import pytest

from flexsim.cli import main
from flexsim.history.calibrate import SHORT_HISTORY, calibrate
from flexsim.history.calibrate_yaml import scenario_yaml
from flexsim.history.usage_export import read_usage
from flexsim.scenario.loader import load_scenario, parse_scenario

RATES = {"Revit": 10, "AutoCAD": 7, "Civil 3D": 9, "Tool X": 3}


def call(argv: list[object]) -> int:
    try:
        return main([str(a) for a in argv])
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else 1


def firm(people: int = 30, seed: int = 4, seasonality: str = "", end: str = "2026-12-31") -> tuple[str, dict]:
    """A truth scenario of named people in two teams, and its (person, product) -> days_per_week."""
    rng = np.random.default_rng(seed)
    lines, truth = [], {}
    for i in range(people):
        team = "Arch" if i % 3 else "Civil"
        uses = {"Revit" if team == "Arch" else "Civil 3D": round(float(rng.uniform(0.3, 4.0)), 2)}
        if i % 2:
            uses["AutoCAD"] = round(float(rng.uniform(0.2, 1.5)), 2)
        if i % 7 == 0:
            uses["Tool X"] = 0.8
        name = f"person{i}@firm.example"
        truth.update({(name, product): dpw for product, dpw in uses.items()})
        products = ", ".join(f"{k}: {v}" for k, v in uses.items())
        lines.append(f"  - {{name: {name}, pool: {team}, products: {{{products}}}}}")
    text = (
        f"start: 2026-01-01\nend: {end}\nproducts: {{Tool X: 3}}\n"
        f"pools: [{{name: Arch}}, {{name: Civil}}]\nlots: []\nusers:\n"
        + "\n".join(lines)
        + f"\n{seasonality}\nsimulation: {{seed: {seed}}}\n"
    )
    return text, truth


def synth(tmp_path: Path, text: str, style: str = "current", name: str = "usage.csv") -> Path:
    truth_file = tmp_path / "truth.yaml"
    truth_file.write_text(text)
    out = tmp_path / name
    assert call(["synth-export", truth_file, "-o", out, "--style", style, "--quiet"]) == 0
    return out


def test_round_trip_rates_exact_and_days_per_week_within_binomial_error(tmp_path: Path, capsys) -> None:
    text, truth = firm()
    usage = synth(tmp_path, text)
    out = tmp_path / "calibrated.yaml"
    assert call(["calibrate", usage, "-o", out]) == 0
    fitted = load_scenario(out)
    assert {p: fitted.products[p] for p in RATES} == RATES  # rates: exact
    assert [p.name for p in fitted.pools] == ["Arch", "Civil"]
    z, seen = [], set()
    for group in fitted.groups:
        assert group.named and group.count == 1
        assert group.pool == ("Civil" if int(group.name[6:].split("@")[0]) % 3 == 0 else "Arch")
        for use in group.products:
            seen.add((group.name, use.product))
            p = truth[group.name, use.product] / 5
            h = use.history
            assert h is not None and 240 <= h.workdays <= 261
            z.append((h.days_used / h.workdays - p) / np.sqrt(p * (1 - p) / h.workdays))
    assert seen == set(truth)  # one named person per user, every product they used
    z = np.array(z)
    assert abs(z.mean()) < 3 / np.sqrt(len(z)), z.mean()
    assert 0.7 < z.std() < 1.3, z.std()
    assert np.abs(z).max() < 4.5
    # A year of history without seasons: the fitted multipliers stay near 1.
    assert all(0.8 < f < 1.2 for f in fitted.seasonality), fitted.seasonality


def test_seasons_are_recovered_from_a_year(tmp_path: Path) -> None:
    text, _ = firm(people=40, seed=9, seasonality="seasonality: {aug: 0.5, dec: 0.7}")
    fitted = parse_scenario(scenario_yaml(calibrate(read_usage(synth(tmp_path, text)))), "c.yaml")
    season = np.array(fitted.seasonality)
    plain = np.delete(season, [7, 11]).mean()
    assert season[7] / plain == pytest.approx(0.5, abs=0.08)
    assert season[11] / plain == pytest.approx(0.7, abs=0.08)


def test_less_than_a_year_has_no_seasonality_and_says_why(tmp_path: Path) -> None:
    text, _ = firm(people=6, end="2026-08-31")
    result = calibrate(read_usage(synth(tmp_path, text)))
    assert result.fit.seasonality is None
    assert "\nseasonality:" not in scenario_yaml(result)
    assert "# Seasonality not fitted" in scenario_yaml(result)
    assert "fewer than 15 workdays in sep, oct, nov, dec" in result.fit.season_comment


@pytest.mark.parametrize("style", ["snake", "camel"])
def test_every_naming_style_calibrates_alike(tmp_path: Path, style: str) -> None:
    text, _ = firm(people=8)
    current = calibrate(read_usage(synth(tmp_path, text)))
    other = calibrate(read_usage(synth(tmp_path, text, style, f"{style}.csv")))

    def uses(result):
        return {
            (p.name, u.product): (u.days_per_week, u.days_used, u.workdays)
            for p in result.fit.people
            for u in p.uses
        }

    assert uses(other) == uses(current)
    assert other.fit.rates == current.fit.rates
    assert other.fit.pools == (["main"] if style == "camel" else ["Arch", "Civil"])


def test_the_scenario_runs_as_written_with_and_without_packs(tmp_path: Path, capsys) -> None:
    text, _ = firm(people=6, end="2026-06-30")
    usage = synth(tmp_path, text)
    packs = tmp_path / "packs.csv"
    packs.write_text(
        "name,date,tokens,price,pool\nFY26 Arch,2026-01-02,5000,2.75,Arch\n"
        "FY26 Civil,2026-01-02,3000,2.75,Civil\nNext Arch,2026-08-01,2000,3.00,Arch\n"
    )
    for extra in ([], ["--packs", packs]):
        out = tmp_path / "c.yaml"
        assert call(["calibrate", usage, "-o", out, *extra]) == 0
        assert call(["run", out, "--runs", 3, "--quiet"]) == 0
        sc = load_scenario(out)
        # start: the day after the last usage date (Tuesday 30 June); end: a year later, less a day
        assert sc.start == date(2026, 7, 1) and sc.end == date(2027, 6, 30)
    printed = capsys.readouterr()
    assert "Next: flexsim run" in printed.out and "Traceback" not in printed.err
    assert "no --packs file" in printed.err


def export(tmp_path: Path, rows: list[str], header: str = "Team,Email,Product,Day used,Tokens used") -> Path:
    path = tmp_path / "usage.csv"
    path.write_text(header + "\n" + "\n".join(rows) + "\n")
    return path


def test_packs_are_replayed_through_the_history_in_draw_order(tmp_path: Path) -> None:
    usage = export(
        tmp_path,
        [
            "T,a@x.example,Revit,2026-01-05,10",
            "T,a@x.example,Revit,2026-01-06,10",
            "T,a@x.example,Revit,2026-01-07,10",
            "T,a@x.example,Revit,2026-02-02,10",
        ],
    )
    packs = tmp_path / "packs.csv"
    packs.write_text(
        "name,date,tokens,price,expires\nsmall,2026-01-01,25,3.00,2026-06-01\n"
        "big,2026-01-01,100,2.75,\nlater,2026-02-01,50,2.75,\nfuture,2026-03-01,500,2.75,\n"
    )
    result = calibrate(read_usage(usage), str(packs))
    sc = parse_scenario(scenario_yaml(result), "c.yaml")
    # small (ends first) takes 10 + 10 + 5; big the other 5 and, after small ran dry, 10 more.
    assert {lot.name: lot.tokens for lot in sc.lots} == {"big": 85, "later": 50, "future": 500}
    assert "left out: small" in scenario_yaml(result)
    assert sc.start == date(2026, 2, 3)
    packs.write_text("name,date,tokens,price,remaining\nbig,2026-01-01,100,2.75,60\n")
    assert parse_scenario(scenario_yaml(calibrate(read_usage(usage), str(packs))), "c").lots[0].tokens == 60


@pytest.mark.parametrize(
    ("packs", "fragment"),
    [
        ("name,price\nA,2.75\n", "packs.csv: row 1: no date column: a packs file has the columns name, date"),
        (
            "name,date,tokens,pool\nA,2026-01-01,100,Tx\n",
            "row 2: pool 'Tx' is not a team of the export (teams: T, U); did you mean 'T'?",
        ),
        ("name,date,tokens\nA,2026-01-01,100\n", "row 2: no pool: the export has several teams (T, U)"),
        (
            "name,date,tokens,pool\nA,2028-01-01,100,T\n",
            "row 2: the date 2028-01-01 is after the forecast ends",
        ),
        ("name,date,tokens,pool\nA,2026-01-01,0,T\n", "row 2: tokens is 0"),
        (
            "name,date,tokens,pool\nA,2026-01-01,100,T\nA,2026-02-01,100,T\n",
            "row 3: pack name 'A' is already",
        ),
        ("name,date,tokens,price,pool\nA,2026-01-01,100,cheap,T\n", "row 2: price is 'cheap'"),
    ],
)
def test_bad_packs_files_are_one_line_and_exit_2(tmp_path: Path, capsys, packs: str, fragment: str) -> None:
    usage = export(tmp_path, ["T,a@x.example,Revit,2026-01-05,10", "U,b@x.example,Revit,2026-01-06,10"])
    path = tmp_path / "packs.csv"
    path.write_text(packs)
    out = tmp_path / "c.yaml"
    assert call(["calibrate", usage, "--packs", path, "-o", out]) == 2
    err = capsys.readouterr().err
    assert fragment in err and err.count("\n") == 1, err
    assert not out.exists()


def test_notes_short_histories_catalogue_differences_and_zero_token_days(tmp_path: Path, capsys) -> None:
    rows = [
        f"T,old@x.example,Revit,2026-{m:02d}-{d:02d},{t}"
        for m in range(1, 7)
        for d, t in ((5, 12), (6, 12), (7, 0))
    ]  # Revit at 12 (the catalogue says 10); 0-token days count
    rows += [
        "T,new@x.example,Revit,2026-06-01,12",
        "T,new@x.example,Revit,2026-06-03,0",
        "T,last@x.example,Revit,2026-06-07,12",
        "T,old@x.example,Viewer,2026-06-01,0",
    ]
    out = tmp_path / "c.yaml"
    assert call(["calibrate", export(tmp_path, rows), "-o", out]) == 0
    err = capsys.readouterr().err
    assert "flexsim: warning: Revit: the export charges 12 tokens a day" in err and "says 10" in err
    assert "Viewer: never charged in the export" in err
    assert f"have under {SHORT_HISTORY} workdays of history" in err
    sc = load_scenario(out)
    assert sc.products["Revit"] == 12 and "Viewer" not in sc.products
    people = {g.name: g.products[0] for g in sc.groups}
    old = people["old@x.example"].history
    assert old is not None and old.days_used == 17  # 18 days with a row, less the first day seen
    new = people["new@x.example"]
    assert new.history is not None and (new.history.days_used, new.history.workdays) == (1, 4)
    last = people["last@x.example"]  # first seen on the last day: nothing to go on but the others
    assert last.history is not None and last.history.workdays == 0
    assert "SHORT HISTORY" in out.read_text()


def test_a_user_in_two_teams_is_one_person_in_the_team_with_most_rows(tmp_path: Path, capsys) -> None:
    rows = [
        "T,a@x.example,Revit,2026-01-05,10",
        "T,a@x.example,Revit,2026-01-06,10",
        "U,a@x.example,AutoCAD,2026-01-07,7",
        "U,b@x.example,AutoCAD,2026-01-07,7",
    ]
    result = calibrate(read_usage(export(tmp_path, rows)))
    a = next(p for p in result.fit.people if p.name == "a@x.example")
    assert a.pool == "T" and {u.product for u in a.uses} == {"Revit", "AutoCAD"}
    assert any("appear in several teams" in n for n in result.notes)


def test_start_and_end_options(tmp_path: Path, capsys) -> None:
    usage = export(tmp_path, ["T,a@x.example,Revit,2026-01-05,10"])
    out = tmp_path / "c.yaml"
    assert call(["calibrate", usage, "--start", "2026-02-01", "--end", "2026-03-31", "-o", out]) == 0
    sc = load_scenario(out)
    assert (sc.start, sc.end) == (date(2026, 2, 1), date(2026, 3, 31))
    assert call(["calibrate", usage, "--start", "2026-02-01", "--end", "2026-01-31", "-o", out]) == 2
    assert "--end 2026-01-31 is before the start 2026-02-01" in capsys.readouterr().err
    assert call(["calibrate", usage, "--start", "tomorrow", "-o", out]) == 2


def test_sixty_people_over_a_year_calibrate_in_a_few_seconds(tmp_path: Path) -> None:
    text, _ = firm(people=60, seed=2)
    usage_file = synth(tmp_path, text)
    began = time.perf_counter()
    result = calibrate(read_usage(usage_file))
    seconds = time.perf_counter() - began
    assert len(result.fit.people) == 60
    assert seconds < 5, seconds


def test_users_of_never_charged_products_only_are_left_out(tmp_path: Path, capsys) -> None:
    rows = ["T,a@x.example,Revit,2026-01-05,10", "T,b@x.example,Viewer,2026-01-05,0"]
    result = calibrate(read_usage(export(tmp_path, rows)))
    assert [p.name for p in result.fit.people] == ["a@x.example"]
    assert any("1 user(s) only used products never charged" in n for n in result.notes)
    path = export(tmp_path, ["T,b@x.example,Viewer,2026-01-05,0"])
    assert call(["calibrate", path, "-o", tmp_path / "c.yaml"]) == 2
    assert "no row has more than 0 tokens: nothing to calibrate" in capsys.readouterr().err


def test_with_one_team_a_pack_needs_no_pool(tmp_path: Path) -> None:
    usage = export(tmp_path, ["Studio,a@x.example,Revit,2026-01-05,10"])
    packs = tmp_path / "packs.csv"
    packs.write_text(
        "name, date, tokens, price, pool\nA, 2026-01-01, 100, 2.75,\nB, 2026-03-01, 50, 3, main\n"
    )
    sc = parse_scenario(scenario_yaml(calibrate(read_usage(usage), str(packs))), "c.yaml")
    assert [(lot.name, lot.tokens, lot.pool) for lot in sc.lots] == [("A", 90, "Studio"), ("B", 50, "Studio")]


EXAMPLES = Path(__file__).resolve().parent.parent / "flexsim" / "examples"


@pytest.mark.parametrize(
    ("packs", "start", "end"),
    [
        (None, None, None),
        (EXAMPLES / "firm-history-packs.csv", None, None),
        (EXAMPLES / "firm-history-packs.csv", date(2026, 12, 1), date(2027, 3, 31)),
    ],
)
def test_the_written_scenario_reads_back_as_the_calibrated_one(packs, start, end) -> None:
    usage = read_usage(EXAMPLES / "firm-history-usage.csv")
    result = calibrate(usage, None if packs is None else str(packs), start, end)
    read_back = parse_scenario(scenario_yaml(result), "c.yaml")
    assert read_back == replace(result.scenario, source="c.yaml")
    assert list(read_back.products.items()) == list(result.scenario.products.items())  # same order
    assert list(read_back.subscriptions.items()) == list(result.scenario.subscriptions.items())


def test_a_short_history_reads_back_too(tmp_path: Path) -> None:
    usage = export(
        tmp_path,
        ["T,a@x.example,Revit,2026-01-05,10", "U,b@x.example,AutoCAD,2026-01-06,7"],
    )
    packs = tmp_path / "packs.csv"
    packs.write_text("name,date,tokens,price,pool\nodd,2026-01-01,100,2.7654321,T\nfree,2026-01-02,50,,U\n")
    result = calibrate(read_usage(usage), str(packs))
    assert parse_scenario(scenario_yaml(result), "c") == replace(result.scenario, source="c")
