"""What `flexsim backtest` prints: one backtest's totals and products, or the folds and their
coverage, from the `backtest --json` objects (`flexsim.history.backtest`)."""

from __future__ import annotations

from flexsim.analysis.stats import half_width
from flexsim.history.scoring import scores_lines
from flexsim.output.layout import fold


def _tokens(x: float) -> str:
    return f"{x:,.0f}"


def fold_line(f: dict) -> str:
    s = f["forecast_tokens"]
    return (
        f"  {f['split']}  {f['forecast_to']}  {_tokens(f['actual_tokens']):>10}  {_tokens(s['p10']):>10}"
        f"  {_tokens(s['p50']):>10}  {_tokens(s['p90']):>10}  {'yes' if f['covered'] else 'NO':>6}"
    )


FOLD_HEADER = (
    f"  {'split':<10}  {'to':<10}  {'actual':>10}  {'P10':>10}  {'P50':>10}  {'P90':>10}  {'inside':>6}"
)


def backtest_text(source: str, data: dict) -> str:
    """The terminal summary of one backtest."""
    s = data["forecast_tokens"]
    half = half_width(s["mean_ci95"])
    err = "" if half is None else f" ±{half:,.0f}"
    lines = [
        f"Backtest of {source}: fitted on {data['fitted_from']} to {data['fitted_to']} "
        f"({data['people']} {data['people_are']}), forecast {data['forecast_from']} to "
        f"{data['forecast_to']}, "
        f"{data['runs']} runs, seed {data['seed']}",
        "",
        f"  Actual tokens:    {_tokens(data['actual_tokens'])}",
        f"  Forecast tokens:  mean {_tokens(s['mean'])}{err}, P10 {_tokens(s['p10'])} to P90 "
        f"{_tokens(s['p90'])}",
        f"  Inside P10-P90:   {'yes' if data['covered'] else 'NO'}",
        "",
    ]
    width = max([len(p) for p in data["products"]] + [7])
    lines.append(f"  {'product':<{width}}  {'actual':>10}  {'P10':>10}  {'P50':>10}  {'P90':>10}  inside")
    for product, p in data["products"].items():
        f = p["forecast"]
        lines.append(
            f"  {product:<{width}}  {_tokens(p['actual_tokens']):>10}  {_tokens(f['p10']):>10}  "
            f"{_tokens(f['p50']):>10}  {_tokens(f['p90']):>10}  {'yes' if p['covered'] else 'NO'}"
        )
    new = data["new_people"]
    if new["count"]:
        lines += [
            "",
            f"  {new['count']} {'products' if data['people_are'] != 'people' else 'people'} first "
            "seen after the split used "
            f"{_tokens(new['actual_tokens'])} of the actual tokens: no forecast from the history "
            "could know them.",
        ]
    return "\n".join(fold(lines)) + "\n"


def folds_title(source: str, folds: int, runs: int, seed: int, horizon: int | None) -> str:
    ahead = f"the next {horizon} days" if horizon else "the rest of the file"
    title = (
        f"Backtest of {source} over {folds} split dates, each forecasting {ahead}; {runs} runs "
        f"each, seed {seed}"
    )
    return "\n".join(fold([title])) + "\n"


def folds_text(source: str, data: dict, table: bool = True) -> str:
    """The terminal summary of a backtest over several splits (without the table of folds when
    it was printed as they finished)."""
    c = data["coverage"]
    lines = []
    if table:
        lines += [
            *folds_title(source, c["folds"], data["runs"], data["seed"], data["horizon_days"]).split("\n"),
            FOLD_HEADER,
            *(fold_line(f) for f in data["folds"]),
        ]
    lo, hi = c["ci95"]
    lines += [
        "",
        f"Coverage: the actual total was inside P10-P90 in {c['covered']} of {c['folds']} folds "
        f"({c['share']:.0%}; 95% CI {lo:.0%} to {hi:.0%}); an honest forecast scores about "
        f"{c['nominal']:.0%}.",
    ]
    if not data["horizon_days"]:
        lines.append(
            "The folds overlap (each forecasts to the end of the file), so they are not "
            "independent: the interval is optimistic."
        )
    lines += scores_lines(data["scores"])
    return "\n".join(fold(lines)) + "\n"
