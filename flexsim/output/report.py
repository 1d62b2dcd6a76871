"""The forecast report: one self-contained HTML file a manager can open, print or forward.

Order of the page: the headline answers (per pool and per pack), the breakdowns by product,
group and person, the charts (embedded as data: URIs, so nothing is fetched), then the
assumptions and the Monte Carlo error of every headline figure. Each headline figure in the page
carries `data-key`/`data-value` attributes naming the `run --json` figure it shows, and that
JSON is embedded too, so the page and the JSON can be checked against each other.
"""

from __future__ import annotations

import base64
import json
from html import escape

from flexsim import __version__
from flexsim.analysis.stats import half_width

CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,Arial,sans-serif;margin:2rem auto;
max-width:1100px;color:#1d1d1f;line-height:1.4;padding:0 1rem}
h1{font-size:1.6rem;margin-bottom:.2rem}h2{margin-top:2.2rem;border-bottom:2px solid #ddd;
padding-bottom:.2rem}h3{margin-bottom:.4rem}.sub{color:#555;margin-top:0}
table{border-collapse:collapse;margin:.5rem 0 1rem;font-size:.92rem}
th,td{border-bottom:1px solid #e3e3e3;padding:.3rem .6rem;text-align:right;vertical-align:top}
th:first-child,td:first-child{text-align:left}th{background:#f5f5f7}
.cards{display:flex;flex-wrap:wrap;gap:.8rem}.card{border:1px solid #ddd;border-radius:8px;
padding:.7rem 1rem;min-width:220px;flex:1}.card .big{font-size:1.5rem;font-weight:600}
.card .lab{color:#555;font-size:.85rem}.card .big.dates{font-size:1.05rem}
td.t,th.t{text-align:left}td{white-space:nowrap}
table.kv td{text-align:left;white-space:normal}td.w{white-space:normal;min-width:9rem}
.card .err{color:#666;font-size:.8rem}
.plain{font-size:1.05rem;background:#f5f8ff;border-left:4px solid #2f6fdf;padding:.5rem .8rem}
.todo{background:#f3fbf5;border-left:4px solid #0a7d32;padding:.4rem .8rem;margin:.3rem 0}
.bad{color:#b00020}.ok{color:#0a7d32}.note{color:#555;font-size:.85rem}
figure{margin:1rem 0 2rem;page-break-inside:avoid}figure img{max-width:100%;height:auto;
border:1px solid #eee}figcaption{color:#444;font-size:.88rem}
@media print{body{margin:0;max-width:none}h2{page-break-after:avoid}.card,table{
page-break-inside:avoid}}
"""


def _fmt_int(x) -> str:
    return "-" if x is None else f"{x:,.0f}"


def _fmt_usd(x) -> str:
    return "-" if x is None else f"${x:,.0f}"


def _fmt_num(x) -> str:
    """Whole numbers for large figures, three significant digits for small ones."""
    if x is None:
        return "-"
    return f"{x:,.0f}" if abs(x) >= 100 else f"{x:.3g}"


def _fmt_days(x) -> str:
    return "-" if x is None else f"{x:,.1f}"


def _fmt_pct(x) -> str:
    return "-" if x is None else f"{100 * x:.1f}%"


def _tag(key: str, value, text: str, cls: str = "") -> str:
    """A figure with the JSON path it shows and the exact value, for checks and scripts."""
    attr = f' class="{cls}"' if cls else ""
    return (
        f'<span{attr} data-key="{escape(key)}" data-value="{escape(json.dumps(value))}">{escape(text)}</span>'
    )


def _pm(s: dict, fmt=_fmt_int) -> str:
    half = half_width(s["mean_ci95"])
    return "" if half is None or s.get("sd") == 0 else f"± {fmt(half)}"


def _card(label: str, big: str, err: str = "", note: str = "", big_class: str = "") -> str:
    return (
        f'<div class="card"><div class="lab">{escape(label)}</div>'
        f'<div class="big {big_class}">{big}</div>'
        f'<div class="err">{escape(err)}</div><div class="note">{note}</div></div>'
    )


def _missing_note(s: dict) -> str:
    """Which run-out quantiles are missing and why, e.g. 'no P90: fewer than 90% of runs ran out'."""
    q = s["run_out_date"]
    missing = [k for k in ("p10", "p50", "p90") if q[k] is None]
    if not missing:
        return ""
    names = ", ".join(k.upper() for k in missing)
    return (
        f"no {names}: fewer than {int(missing[0][1:])}% of runs ran out "
        f"({_fmt_pct(s['run_out_probability'])} did)"
    )


def _spread(s: dict, p10, p90, fmt) -> str:
    """The interval of the mean and the P10-P90 spread, saying only what varies."""
    if s["sd"] == 0:
        return "the same in every run"
    spread = f"P10 and P90 both {fmt(p10)}" if p10 == p90 else f"P10 to P90 of runs {fmt(p10)} to {fmt(p90)}"
    return f"{_pm(s, fmt)} (95% CI of the mean); {spread}"


SUMMARY_ROWS = {  # figure -> its row in the terminal summary
    "spend": "Spend in the horizon (USD)",
    "blocked_days": "Blocked person-product-days",
    "tokens_expired": "Tokens expired",
    "tokens_consumed": "Tokens consumed",
    "tokens_remaining": "Tokens left at the end",
}


def _pool_section(pool: str, s: dict, runs: int, words: dict | None = None, start: str | None = None) -> str:
    key = f"pools/{pool}"
    prob = s["run_out_probability_detail"]
    lo, hi = prob["ci95"]
    q = s["run_out_date"]
    dates = " / ".join(_tag(f"{key}/run_out_date/{k}", q[k], q[k] or "none") for k in ("p10", "p50", "p90"))
    risk = _tag(
        f"{key}/run_out_probability",
        s["run_out_probability"],
        _fmt_pct(s["run_out_probability"]),
        "bad" if s["run_out_probability"] > 0.05 else "ok",
    )
    a = s["alert_date"]
    alert_dates = " / ".join(
        _tag(f"{key}/alert_date/{k}", a[k], a[k] or "none") for k in ("p10", "p50", "p90")
    )
    cards = [
        _card(
            "Chance the pool runs out before the end",
            risk,
            f"95% CI {_fmt_pct(lo)} to {_fmt_pct(hi)}, {runs:,} runs",
        ),
        _card(
            "Run-out date P10 / P50 / P90",
            dates,
            "the date by which 10% / 50% / 90% of runs had run out",
            escape(_missing_note(s)),
            big_class="dates",
        ),
        _card(
            "Low-balance alert fires (P10 / P50 / P90)",
            alert_dates,
            words["alert"]
            if words
            else f"in {_fmt_pct(s['alert_probability'])} of runs; it fires when the balance drops "
            f"below {s['alert_level']}",
            big_class="dates",
        ),
    ]
    for name, label, fmt in (
        ("spend", "Spend on purchases in the horizon", _fmt_usd),
        ("blocked_days", "Blocked person-product-days", _fmt_days),
        ("tokens_expired", "Tokens expiring unused", _fmt_int),
        ("tokens_consumed", "Tokens consumed", _fmt_int),
        ("tokens_remaining", "Tokens left at the end", _fmt_int),
    ):
        mean = s[name]["mean"]
        p10, p90 = s["p10_p90"][name]
        err = _spread(s[name], p10, p90, fmt)
        if words:  # the terminal's words for the same figure (its first line: notes follow)
            err = dict(words["rows"])[SUMMARY_ROWS[name]].split("\n")[0]
        note = ""
        if words and name == "tokens_remaining":
            note = escape(
                "; ".join(
                    [f"{t:,.0f} of {p} expire {d}" for p, t, d in words["left"]]
                    + ([f"{words['in_topups']:,.0f} in top-ups"] if words["in_topups"] > 0.5 else [])
                )
            )
        cards.append(_card(label, _tag(f"{key}/{name}/mean", mean, fmt(mean)), err, note))
    plain = in_plain_words(pool, s, runs, start)
    if words and words["headline"]:
        plain += " " + words["headline"]
    todo = ""
    if words and words["what_to_do"]:
        todo = "<h4>What to do</h4>" + "".join(
            f'<p class="todo">{escape(x)}</p>' for x in words["what_to_do"]
        )
    return (
        f'<h3>Pool {escape(pool)}</h3><p class="plain">{escape(plain)}</p>{todo}'
        f'<div class="cards">{"".join(cards)}</div>'
    )


def in_plain_words(pool: str, s: dict, runs: int, start: str | None = None) -> str:
    """The pool's headline answers as two or three sentences."""
    prob = s["run_out_probability_detail"]
    lo, hi = prob["ci95"]
    q = s["run_out_date"]
    if prob["p"] == 0:
        words = (
            f"Pool {pool} did not run out in any of {runs:,} runs "
            f"(the risk is below {_fmt_pct(hi)} with 95% confidence)."
        )
    else:
        words = (
            f"Pool {pool} runs out before the end in {_fmt_pct(prob['p'])} of runs "
            f"(95% CI {_fmt_pct(lo)} to {_fmt_pct(hi)})."
        )
        if q["p10"]:
            words += f" In 1 run in 10 it is empty by {q['p10']}."
        if q["p50"]:
            words += f" In half the runs it is empty by {q['p50']}."
    waste = s["tokens_expired"]["mean"]
    words += (
        f" Expect {_fmt_int(waste)} tokens to expire unused and "
        f"{_fmt_usd(s['spend']['mean'])} of purchases in the horizon."
    )
    a = s["alert_date"]
    if s["alert_probability"] > 0 and a["p90"] is not None and a["p90"] == start:
        words += " The balance is below the low-balance alert level from the first day."
    elif s["alert_probability"] > 0:
        words += f" The low-balance alert fires in {_fmt_pct(s['alert_probability'])} of runs"
        words += f", by {a['p50']} in half of them." if a["p50"] else "."
    return words


def _packs_table(lots: list[dict], words: dict[str, dict[str, str]] | None = None) -> str:
    """One row per pack; used and expired in the terminal's words (an interval that holds when
    expiry is rare, no "±" where nothing varies)."""
    rows = []
    for i, lot in enumerate(lots):
        e, used, usd = lot["expired"], lot["consumed"]["mean"], lot["expired_usd"]["mean"]
        said = (words or {}).get(lot["name"])
        used_text = said["consumed"] if said else _pm(lot["consumed"])
        expired_text = said["expired"] if said else _pm(e)
        held = "<br><small>held at start (sunk)</small>" if lot["held_at_start"] else ""
        rows.append(
            f"<tr><td>{escape(lot['name'])}{held}</td><td class='t'>{escape(lot['pool'])}</td>"
            f"<td>{lot['tokens']:,}</td><td>{escape(lot['date'] or '')}</td>"
            f"<td>{escape(lot['expires'] or '')}</td>"
            f"<td class='w'>{_tag(f'lots/{i}/consumed/mean', used, _fmt_int(used))}"
            f"<br><small>{escape(used_text)}</small></td>"
            f"<td class='w'>{_tag(f'lots/{i}/expired/mean', e['mean'], _fmt_int(e['mean']))}"
            f"<br><small>{escape(expired_text)}</small></td>"
            f"<td>{_tag(f'lots/{i}/expired_usd/mean', usd, _fmt_usd(usd))}</td>"
            f"<td>{_fmt_int(max(0.0, lot['tokens'] - used - e['mean']))}</td></tr>"
        )
    return (
        "<table><tr><th>Pack</th><th class='t'>Pool</th><th>Tokens</th><th>Bought</th><th>Expires</th>"
        "<th>Used (mean, 95% CI, P10-P90)</th><th>Expire unused (mean, 95% CI, P10-P90)</th>"
        "<th>Waste (USD)</th><th>Left at the end (mean)</th></tr>" + "".join(rows) + "</table>"
    )


def _breakdown_table(
    rows: list[dict], what: str, extra: tuple[str, str] | None = None, limit: int | None = None
) -> str:
    text = bool(rows) and extra is not None and isinstance(rows[0][extra[1]], str)
    left = ' class="t"' if text else ""
    head = (
        f"<tr><th>{escape(what)}</th>"
        + (f"<th{left}>{escape(extra[0])}</th>" if extra else "")
        + "<th>Tokens (mean ± 95% CI)</th><th>P10 to P90</th><th>USD (mean)</th>"
        "<th>Share</th></tr>"
    )
    body = []
    shown = rows if limit is None else rows[:limit]
    for r in shown:
        t = r["tokens"]
        cell = f"<td{left}>{escape(str(r[extra[1]]))}</td>" if extra else ""
        body.append(
            f"<tr><td>{escape(r['name'])}</td>{cell}<td>{_fmt_int(t['mean'])} {_pm(t)}</td>"
            f"<td>{_fmt_int(r['p10'])} to {_fmt_int(r['p90'])}</td>"
            f"<td>{_fmt_usd(r['usd_mean'])}</td><td>{_fmt_pct(r['share'])}</td></tr>"
        )
    more = (
        ""
        if limit is None or len(rows) <= limit
        else f'<p class="note">Showing the {limit} largest of {len(rows)}; '
        "the full list is in the JSON (`--json`).</p>"
    )
    return "<table>" + head + "".join(body) + "</table>" + more


CAPTIONS = {
    "balance.png": "Tokens left at the end of each day. The band holds the middle 80% of runs "
    "(P10 to P90), the line is the median; red lines mark when packs expire, the "
    "dashed line the low-balance alert level of the packs in the scenario.",
    "run_out.png": "When the pool runs out: the black line is the share of runs that had run out "
    "by each date; bars show in which week runs first ran out.",
    "waste.png": "Tokens expected to expire unused in each pack, with the range P10 to P90 over "
    "the runs and the value lost at the pack's price.",
    "burn.png": "Mean tokens consumed per calendar month, by product; the black bars are the 95% "
    "interval of each month's mean.",
}


def _history_row(line: str | None) -> str:
    """How a calibrated scenario's forecast did on its own history (`provenance:`), if known."""
    return "" if not line else f"<tr><td>On your history</td><td>{escape(line)}</td></tr>"


def report_html(data: dict, charts: dict[str, bytes], scenario_file: str) -> str:
    """The whole page as one string."""
    runs = data["runs"]
    words = data.get("words", {})
    pools = "".join(
        _pool_section(pool, s, runs, words.get(pool), data["start"]) for pool, s in data["pools"].items()
    )
    figures = "".join(
        f'<figure><img alt="{escape(name)}" src="data:image/png;base64,'
        f'{base64.b64encode(png).decode()}"><figcaption><b>{escape(name)}</b>: '
        f"{escape(CAPTIONS.get(name, ''))}</figcaption></figure>"
        for name, png in charts.items()
    )
    price = data["token_price"]
    err_rows = []
    for pool, s in data["pools"].items():
        prob = s["run_out_probability_detail"]
        err_rows.append(
            f"<tr><td>{escape(pool)}: run-out probability</td>"
            f"<td>{_fmt_pct(prob['p'])}</td><td>{_fmt_pct(prob['se'])}</td>"
            f"<td>{_fmt_pct(prob['ci95'][0])} to {_fmt_pct(prob['ci95'][1])}</td>"
            "<td>Wilson</td></tr>"
        )
        for name in ("tokens_consumed", "tokens_expired", "tokens_remaining", "blocked_days", "spend"):
            x = s[name]
            se = None if x["sd"] is None else x["sd"] / x["n"] ** 0.5
            lo, hi = x["mean_ci95"]
            unit = "$" if name == "spend" else ""
            interval, method = f"{unit}{_fmt_num(lo)} to {unit}{_fmt_num(hi)}", "Student t"
            rare = x.get("rare")
            if rare and 2 * rare["runs_above_zero"] < x["n"]:  # zero-heavy: the rare-figure interval
                r_lo, r_hi = rare["mean_interval95"]
                share_hi = rare["share_above_zero_ci95"][1]
                interval = (
                    f"above 0 in under {_fmt_pct(share_hi)} of runs"
                    if r_hi is None
                    else f"{_fmt_num(r_lo)} to {_fmt_num(r_hi)}"
                )
                method = "rare figure: exact share of runs above 0 x their mean"
            err_rows.append(
                f"<tr><td>{escape(pool)}: mean {name.replace('_', ' ')}</td>"
                f"<td>{unit}{_fmt_num(x['mean'])}</td><td>{unit}{_fmt_num(se)}</td>"
                f"<td>{interval}</td><td>{method}</td></tr>"
            )
    resolution = max((d["resolution"] for d in data.get("daily", {}).values()), default=0.0)
    precision = (
        ""
        if data.get("precision") is None
        else f"<tr><td>Precision asked</td><td>{data['precision']:g} "
        f"({'reached' if data['precision_reached'] else 'NOT reached'})</td></tr>"
    )
    breakdowns = ""
    if "by_product" in data:
        breakdowns = (
            "<h2>Who and what burns the tokens</h2>"
            f'<p class="note">Tokens charged over the horizon, valued at ${price:,.2f} per token '
            "(costs.token_price). P10 to P90: the range of the middle 80% of runs.</p>"
            "<h3>By product</h3>"
            + _breakdown_table(data["by_product"], "Product", ("Tokens/day", "rate"))
            + "<h3>By group</h3>"
            + _breakdown_table(data["by_group"], "Group", ("People", "people"))
            + "<h3>By person</h3>"
            + _breakdown_table(data["by_person"], "Person", ("Group", "group"), limit=100)
        )
    # No outside text can end the block or open a comment in it: <, > and & as JSON escapes.
    embedded = (
        json.dumps(data["run_json"], allow_nan=False)
        .replace("<", "\\u003c")
        .replace(">", "\\u003e")
        .replace("&", "\\u0026")
    )
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Flex token forecast: {escape(data["scenario"])}</title><style>{CSS}</style></head>
<body>
<h1>Flex token forecast: {escape(data["scenario"])}</h1>
<p class="sub">{escape(data["start"])} to {escape(data["end"])} &middot; {runs:,} simulated runs
&middot; seed {data["seed"]} &middot; flexsim {escape(__version__)}</p>
<h2>Headline answers</h2>
{pools}
<h3>Packs: what expires unused</h3>
{_packs_table(data["lots"], data.get("pack_words"))}
{breakdowns}
<h2>Charts</h2>
{figures}
<h2>Assumptions and precision</h2>
<table class="kv">
<tr><td>Scenario file</td><td>{escape(scenario_file)}</td></tr>
<tr><td>Scenario</td><td>{escape(data["scenario"])}, {escape(data["start"])} to
{escape(data["end"])}</td></tr>
<tr><td>Runs</td><td>{runs:,}</td></tr><tr><td>Seed</td><td>{data["seed"]}</td></tr>
{precision}
<tr><td>flexsim version</td><td>{escape(__version__)}</td></tr>
{_history_row(data.get("history_line"))}
<tr><td>Token value for use</td><td>${price:,.2f}</td></tr>
<tr><td>Daily balance quantiles</td><td>{
        "exact" if resolution == 0 else f"within {resolution:,.1f} tokens (histogram bins; means are exact)"
    }</td></tr>
</table>
<p class="note">Every figure comes from the simulated runs. A mean is shown with its 95%
confidence interval (how far the average over these runs may be from the average over endless
runs); P10 to P90 is the spread between runs (the middle 80% of them), which more runs do not
shrink (the JSON also keeps P05 and P95, its SPEC keys). Rare figures get an interval that holds
when only a few runs have them (see docs/explanation/monte-carlo-error.md). Rerun
with more runs (or <code>--precision</code>) to narrow the intervals.</p>
<h3>Monte Carlo error of each headline figure ({runs:,} runs)</h3>
<table><tr><th>Figure</th><th>Estimate</th><th>Standard error</th><th>95% interval</th>
<th>Method</th></tr>{"".join(err_rows)}</table>
<script type="application/json" id="flexsim-data">{embedded}</script>
</body></html>
"""
