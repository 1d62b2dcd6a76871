"""Fuzzing the readers of outside files: wrong types at every key of the shipped scenarios,
mutated shipped scenarios, and mutated usage exports. Each input is either refused with one
`ScenarioError` line (the command line's exit 2) or accepted and simulated with every token
accounted for; anything else is a traceback and fails. The default suite runs a small budget;
`-m slow` runs every key with every wrong value and a large budget of mutations."""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flexsim import ScenarioError, parse_scenario, simulate
from flexsim.engine.records import POOL_COUNTERS
from flexsim.history.calibrate import CalibrationError, calibrate
from flexsim.history.calibrate_yaml import scenario_yaml
from flexsim.history.usage_export import read_usage

EXAMPLES = Path(__file__).parent.parent / "flexsim" / "examples"
SHIPPED = {p.stem: p.read_text(encoding="utf-8") for p in sorted(EXAMPLES.glob("*.yaml"))}
EXPORT_LINES = (EXAMPLES / "firm-history-usage.csv").read_text(encoding="utf-8").splitlines()[:80]

WRONG = (
    None, "", "text", "=cmd|calc!A1", "\udc80", "100%", "-5%", "2027-02-30", "9999-12-31",
    0, -1, 1.5, 2**63, -(2**63) - 1, 10**30, 1e308, math.inf, -math.inf, math.nan, True,
    [], [1, 2], {}, {"x": 1}, [[[[[[]]]]]],
)  # fmt: skip
SMALL = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
LARGE = settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
I_BOUGHT, I_USED, I_LOST, I_LEFT = (
    POOL_COUNTERS.index(k)
    for k in ("tokens_purchased", "tokens_consumed", "tokens_expired", "tokens_remaining")
)


def key_paths(node: Any, path: tuple = ()) -> Iterator[tuple]:
    """Every key and list index of a YAML document, as a tuple path."""
    if isinstance(node, dict):
        for key, value in node.items():
            yield (*path, key)
            yield from key_paths(value, (*path, key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield (*path, i)
            yield from key_paths(value, (*path, i))


def replaced(doc: Any, path: tuple, value: Any) -> Any:
    if not path:
        return value
    head, rest = path[0], path[1:]
    if isinstance(doc, dict):
        return {k: (replaced(v, rest, value) if k == head else v) for k, v in doc.items()}
    return [replaced(v, rest, value) if i == head else v for i, v in enumerate(doc)]


DOCS = {name: yaml.safe_load(text) for name, text in SHIPPED.items()}
MATRIX = [(name, path) for name, doc in DOCS.items() for path in key_paths(doc)]


def judge(text: str, source: str = "fuzzed.yaml") -> None:
    """Refused in one line, or simulated with conserved tokens."""
    try:
        scenario = parse_scenario(text, source)
    except ScenarioError as exc:
        assert "\n" not in str(exc) and str(exc).startswith(source), str(exc)
        return
    try:
        results = simulate(scenario, runs=2, seed=1)
    except ScenarioError as exc:  # refused once the runs are known (never for 2 runs)
        pytest.fail(f"accepted by the loader, refused by simulate: {exc}")
    for record in results.records:
        for counters in record.counters:
            assert counters[I_BOUGHT] == counters[I_USED] + counters[I_LOST] + counters[I_LEFT]


def wrong_type(name: str, path: tuple, value: Any) -> None:
    judge(yaml.safe_dump(replaced(DOCS[name], path, value), allow_unicode=False), f"{name}.yaml")


@SMALL
@given(st.sampled_from(MATRIX), st.sampled_from(WRONG))
def test_wrong_types_at_keys_of_the_shipped_scenarios(where: tuple, value: Any) -> None:
    wrong_type(where[0], where[1], value)


@pytest.mark.slow
@pytest.mark.parametrize(
    "name, path", MATRIX, ids=lambda x: "/".join(map(str, x)) if isinstance(x, tuple) else x
)
def test_every_wrong_type_at_every_key(name: str, path: tuple) -> None:
    for value in WRONG:
        wrong_type(name, path, value)


@st.composite
def mutated(draw) -> tuple[str, str]:
    """A shipped scenario with a few lines deleted, duplicated, swapped, cut or spliced."""
    name = draw(st.sampled_from(sorted(SHIPPED)))
    lines = SHIPPED[name].splitlines()
    for _ in range(draw(st.integers(1, 4))):
        if not lines:
            break
        i = draw(st.integers(0, len(lines) - 1))
        op = draw(st.sampled_from(("delete", "duplicate", "swap", "cut", "splice", "digits", "indent")))
        if op == "delete":
            del lines[i]
        elif op == "duplicate":
            lines.insert(i, lines[i])
        elif op == "swap":
            j = draw(st.integers(0, len(lines) - 1))
            lines[i], lines[j] = lines[j], lines[i]
        elif op == "cut":
            lines[i] = lines[i][: draw(st.integers(0, len(lines[i])))]
        elif op == "splice":
            at = draw(st.integers(0, len(lines[i])))
            junk = draw(st.text(st.sampled_from(list(":-[]{}&*!|>'\"%@`#,?0123456789e. \tx")), max_size=6))
            lines[i] = lines[i][:at] + junk + lines[i][at:]
        elif op == "digits":
            lines[i] = "".join(c + "9" * 20 if c.isdigit() else c for c in lines[i])
        else:
            lines[i] = " " * draw(st.integers(0, 6)) + lines[i].lstrip()
    return name, "\n".join(lines) + "\n"


@SMALL
@given(mutated())
def test_mutated_shipped_scenarios(case: tuple[str, str]) -> None:
    judge(case[1], f"{case[0]}.yaml")


@pytest.mark.slow
@LARGE
@given(mutated())
def test_mutated_shipped_scenarios_large(case: tuple[str, str]) -> None:
    judge(case[1], f"{case[0]}.yaml")


CELLS = st.one_of(
    st.sampled_from(
        ("", "=1+1", "-5", "1e400", "99999999999999999999", "2025-13-01", "31/12/2025", "12/31/2025",
         "0000-00-00", "NaN", "inf", "Revit", "\u202e", "x" * 1000, "1,000", "3.5", '"', "\ufeff")
    ),
    st.text(max_size=12),
)  # fmt: skip


@st.composite
def mutated_export(draw) -> str:
    """The first rows of the shipped export with cells replaced, rows dropped or columns cut."""
    rows = [line.split(",") for line in EXPORT_LINES]
    for _ in range(draw(st.integers(1, 6))):
        op = draw(st.sampled_from(("cell", "cell", "cell", "drop-row", "drop-column", "header")))
        if op == "cell" or op == "header":
            r = 0 if op == "header" else draw(st.integers(1, len(rows) - 1))
            c = draw(st.integers(0, len(rows[r]) - 1))
            rows[r][c] = draw(CELLS).replace(",", ";").replace("\n", " ").replace("\r", " ")
        elif op == "drop-row" and len(rows) > 2:
            del rows[draw(st.integers(1, len(rows) - 1))]
        elif op == "drop-column":
            c = draw(st.integers(0, len(rows[0]) - 1))
            rows = [row[:c] + row[c + 1 :] for row in rows]
    return "\n".join(",".join(row) for row in rows) + "\n"


def judge_export(text: str, tmp: Path) -> None:
    path = tmp / "usage.csv"
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    try:
        usage = read_usage(str(path))
        fitted = calibrate(usage, None, None, None)
    except (ScenarioError, CalibrationError) as exc:
        assert "\n" not in str(exc), str(exc)
        return
    judge(scenario_yaml(fitted), "fitted.yaml")


@SMALL
@given(mutated_export())
def test_mutated_usage_exports(tmp_path_factory, text: str) -> None:
    judge_export(text, tmp_path_factory.mktemp("export"))


@pytest.mark.slow
@LARGE
@given(mutated_export())
def test_mutated_usage_exports_large(tmp_path_factory, text: str) -> None:
    judge_export(text, tmp_path_factory.mktemp("export"))
