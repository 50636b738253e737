"""Plotly figures of one run or several runs on the same axes, built from aggregates only.

Every function takes a run folder (or a list of them, to compare regimes) and returns a
`plotly.graph_objects.Figure`, so the same plots serve the HTML report and notebooks. Nothing
here sends per-citizen points to the browser: a 1,000,000-citizen run becomes a few hundred
numbers per figure (daily rows, histogram bins, percentiles), so the report stays small and
responsive whatever the population size.

The score distribution over time is rebuilt from the ledger (every score change is a row),
streamed batch by batch with one score per citizen held in memory; see `score_history`.
"""

from __future__ import annotations

import functools
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import duckdb
import numpy as np
import plotly.graph_objects as go
import pyarrow.parquet as pq
from plotly.subplots import make_subplots

from scorelab.behaviour.catalogue import CATALOGUE
from scorelab.errors import ScorelabError
from scorelab.metrics.groups import FOUR_FIFTHS
from scorelab.metrics.summary import ANTISOCIAL, EXPRESSION, summarize
from scorelab.regime.loader import parse_regime, read_yaml
from scorelab.regime.schema import Regime
from scorelab.store.runfolder import read_manifest, resolve_run

RunArg = str | Path
Runs = RunArg | Sequence[RunArg]

PALETTE = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b", "#e377c2", "#7f7f7f",
           "#bcbd22")
DASHES = ("solid", "dash", "dot", "dashdot", "longdash", "longdashdot")
QUANTILES = (0.01, 0.1, 0.5, 0.9, 0.99)
MAX_CHECKPOINTS = 400  # days sampled for the score distribution over time
TARGET_BINS = 200      # score histogram bins over the score range
MAX_LOST_TIES = 20     # ties lost are shown up to this count; more goes into the last bar
DESCRIPTION = {e.name: e.description for e in CATALOGUE}

# a small explicit template: plotly's default template adds ~8 KB of JSON to every figure
_LAYOUT = dict(
    template="none", font=dict(family="system-ui, sans-serif", size=12), paper_bgcolor="white",
    plot_bgcolor="white", margin=dict(l=60, r=20, t=80, b=50), hovermode="closest",
)
_AXIS = dict(showgrid=True, gridcolor="#e5e5e5", zeroline=False, linecolor="#999", showline=True, automargin=True)


# ============================================================================ run data
@dataclass
class ScoreHistory:
    """The first scorer's score distribution at checkpoint days (counts per bin and per tier)."""

    scorer: str
    days: np.ndarray        # checkpoint days (end of day)
    centres: np.ndarray     # bin centres (points); the initial score is a bin centre
    counts: np.ndarray      # (checkpoints, bins) citizens per bin
    tier_names: list[str]   # best first
    tier_counts: np.ndarray  # (checkpoints, tiers)
    total: int              # citizens counted (the ledger cohort when only a cohort is kept)
    cohort: bool

    def quantile(self, p: float) -> np.ndarray:
        cdf = np.cumsum(self.counts, axis=1) / max(self.total, 1)
        idx = np.array([np.searchsorted(row, p - 1e-12) for row in cdf])
        return self.centres[np.clip(idx, 0, len(self.centres) - 1)]


class RunData:
    """What the figures need from one run folder, read once and cached per folder."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.manifest = read_manifest(folder)
        self.run_id: str = self.manifest.get("run_id", folder.name)
        self.n = int(self.manifest["society"]["citizens"])
        self.days = int(self.manifest["days"])
        self.citizen_years = self.n * self.days / 365.0
        self.multi = len(self.manifest.get("scorers", [])) > 1

    @functools.cached_property
    def regime_text(self) -> str:
        path = self.folder / "regime.yaml"
        try:
            return path.read_text(encoding="utf-8")
        except OSError as exc:
            raise ScorelabError(f"cannot read the run's regime: {exc}", path=str(path)) from None

    @functools.cached_property
    def regime_data(self) -> dict:
        """The regime as plain YAML data: readable even when the current schema has moved on."""
        data = read_yaml(self.regime_text, str(self.folder / "regime.yaml"))
        return data if isinstance(data, dict) else {}

    @functools.cached_property
    def regime(self) -> Regime:
        """The validated regime; raises ScorelabError if the run's file no longer validates."""
        return parse_regime(self.regime_text, str(self.folder / "regime.yaml"))

    @functools.cached_property
    def first_scorer(self) -> dict | None:
        scorers = self.regime_data.get("scorers") or []
        return scorers[0] if scorers and isinstance(scorers[0], dict) else None

    @functools.cached_property
    def summary(self) -> dict:
        cached = self.folder / "summary.json"
        if cached.exists():
            try:
                return json.loads(cached.read_text())
            except (OSError, json.JSONDecodeError):
                pass
        return summarize(self.folder)

    @functools.cached_property
    def daily(self) -> dict[str, np.ndarray]:
        t = pq.read_table(self.folder / "daily.parquet")
        return {c: t.column(c).to_numpy() for c in t.column_names}

    @functools.cached_property
    def baseline(self) -> RunData | None:
        b = self.manifest.get("baseline")
        folder = self.folder.parent / b if b else None
        return run_data(folder) if folder is not None and (folder / "manifest.json").is_file() else None

    @functools.cached_property
    def score_history(self) -> ScoreHistory | None:
        return score_history(self)

    def sql(self, query: str) -> list[tuple]:
        con = duckdb.connect()
        try:
            return con.execute(query).fetchall()
        finally:
            con.close()

    def table(self, name: str) -> str:
        return "'" + str(self.folder / f"{name}.parquet").replace("'", "''") + "'"

    def list_columns(self) -> list[tuple[str, str]]:
        """(label, daily column) for every list: 'black' or 'law:watch' with several scorers."""
        out = []
        for c in self.daily:
            if c.startswith("listed:"):
                out.append((c[len("listed:"):], c))
            elif ":listed:" in c:
                scorer, name = c.split(":listed:", 1)
                out.append((f"{scorer}:{name}", c))
        return out

    def punitive_columns(self) -> list[str]:
        """citizens.parquet `ever:` columns of the punitive lists (black, gray, watch, no_fly)."""
        cols = []
        for label in self.manifest.get("punitive_lists", []):
            cols.append(f"ever:{label}" if self.multi else f"ever:{label.split(':', 1)[1]}")
        return cols


@functools.lru_cache(maxsize=8)
def _cached(path: str, stamp: int) -> RunData:
    return RunData(Path(path))


def run_data(run: RunArg) -> RunData:
    """The cached data of a run folder (recomputed when its manifest changes)."""
    folder = resolve_run(run)
    resolved = folder.resolve()
    return _cached(str(resolved), (resolved / "manifest.json").stat().st_mtime_ns)


def _runs(runs: Runs) -> list[RunData]:
    items = [runs] if isinstance(runs, str | Path) else list(runs)
    if not items:
        raise ScorelabError("no run given", key="RUN", allowed="one or more run folders")
    return [run_data(r) for r in items]


def _nice(x: float) -> float:
    """A round bin width near x: 1, 2, 2.5 or 5 times a power of ten."""
    if x <= 0 or not math.isfinite(x):
        return 1.0
    p = 10 ** math.floor(math.log10(x))
    return min((m * p for m in (1, 2, 2.5, 5, 10)), key=lambda v: abs(v - x))


def _bins(scorer: dict) -> tuple[float, float, int, int]:
    """(initial, width, lowest bin offset, number of bins) for a scorer's score range (YAML data)."""
    sc = scorer["score"]
    initial, smin, smax = float(sc["initial"]), float(sc["min"]), float(sc["max"])
    width = _nice((smax - smin) / TARGET_BINS) if smax > smin else 1.0
    lo = math.floor((smin - initial) / width) - 1
    hi = math.ceil((smax - initial) / width) + 1
    return initial, width, lo, hi - lo + 1


def score_history(rd: RunData) -> ScoreHistory | None:
    """Stream the ledger in day order and snapshot the first scorer's distribution at checkpoint days.

    One float per citizen is held; each batch updates only the citizens it touches and moves them
    between histogram bins and tiers, so a 1M-citizen, 12M-row ledger needs a few seconds and
    ~10 MB. When the run kept only a ledger cohort, the cohort (drawn again from its stream) is
    the population counted.
    """
    m = rd.manifest
    if not m.get("scorers"):
        return None
    scorer = rd.first_scorer
    if scorer is None:
        return None
    name = str(scorer["name"])
    initial, width, lo, nbins = _bins(scorer)
    tiers = (scorer.get("tiers") or {}).get("tiers") or []
    tier_names = [str(t["name"]) for t in tiers]
    mins_asc = np.array(sorted(float(t["min"]) for t in tiers), dtype=np.float64)
    k = max(len(tier_names), 1)

    def bin_of(s: np.ndarray) -> np.ndarray:
        return np.clip(np.rint((s - initial) / width).astype(np.int64) - lo, 0, nbins - 1)

    def tier_of(s: np.ndarray) -> np.ndarray:
        if not len(mins_asc):
            return np.zeros(len(s), np.int64)
        return np.clip(k - np.searchsorted(mins_asc, s, side="right"), 0, k - 1)

    n, days = rd.n, rd.days
    led = m.get("ledger") or {}
    cohort = led.get("policy", "full") != "full"
    total = n
    if cohort:
        from scorelab.streams import stream

        total = int((stream(m["seed"], led.get("cohort_stream", "ledger.cohort")).random(n)
                     < float(led["cohort_share"])).sum())
    step = max(1, math.ceil(days / MAX_CHECKPOINTS))
    checkpoints = sorted(set(range(step - 1, days, step)) | {days - 1}) if days else []
    score = np.full(n, initial, dtype=np.float64)
    hist = np.zeros(nbins, np.int64)
    tcount = np.zeros(k, np.int64)
    hist[bin_of(np.array([initial]))[0]] = total
    tcount[tier_of(np.array([initial]))[0]] = total
    snaps_h, snaps_t = [], []

    def apply(c: np.ndarray, d: np.ndarray) -> None:
        if not len(c):
            return
        srt = np.sort(c)  # np.unique's hash path is slow on large ids (numpy 2.4)
        touched = srt[np.r_[True, srt[1:] != srt[:-1]]]
        before = score[touched]
        np.subtract.at(hist, bin_of(before), 1)
        np.subtract.at(tcount, tier_of(before), 1)
        np.add.at(score, c, d)
        after = score[touched]
        np.add.at(hist, bin_of(after), 1)
        np.add.at(tcount, tier_of(after), 1)

    j = 0
    last_day = -1
    pf = pq.ParquetFile(rd.folder / "ledger.parquet")
    cols = ["citizen", "day", "delta"] + (["scorer"] if len(m["scorers"]) > 1 else [])
    for batch in pf.iter_batches(batch_size=1_000_000, columns=cols):
        c = batch.column("citizen").to_numpy(zero_copy_only=False)
        day = batch.column("day").to_numpy(zero_copy_only=False).astype(np.int64)
        delta = batch.column("delta").to_numpy(zero_copy_only=False)
        if "scorer" in cols:
            sc = batch.column("scorer")
            names = sc.dictionary.to_pylist() if hasattr(sc, "dictionary") else None
            if names is not None:
                code = names.index(name) if name in names else -2
                keep = sc.indices.to_numpy(zero_copy_only=False) == code
            else:
                keep = np.array(sc.to_pylist(), dtype=object) == name
            c, day, delta = c[keep], day[keep], delta[keep]
        if not len(day):
            continue
        if day[0] < last_day or np.any(np.diff(day) < 0):
            raise ScorelabError("ledger rows are not in day order", path=str(rd.folder / "ledger.parquet"))
        pos = 0
        while j < len(checkpoints) and checkpoints[j] < day[-1]:
            end = int(np.searchsorted(day, checkpoints[j], side="right"))
            apply(c[pos:end], delta[pos:end])
            pos = end
            snaps_h.append(hist.copy())
            snaps_t.append(tcount.copy())
            j += 1
        apply(c[pos:], delta[pos:])
        last_day = int(day[-1])
    while j < len(checkpoints):
        snaps_h.append(hist.copy())
        snaps_t.append(tcount.copy())
        j += 1
    centres = initial + (np.arange(nbins) + lo) * width
    return ScoreHistory(name, np.array(checkpoints, np.int64), centres,
                        np.array(snaps_h).reshape(len(checkpoints), nbins),
                        tier_names or [""], np.array(snaps_t).reshape(len(checkpoints), k), total, cohort)


# ============================================================================ helpers
def _fig(title: str, height: int = 420, **layout) -> go.Figure:
    return _style(go.Figure(), title, height, **layout)


def _style(fig: go.Figure, title: str, height: int, **layout) -> go.Figure:
    """Shared look: the title on top in the margin, the legend on the right, light grid lines."""
    fig.update_layout(title=dict(text=title, x=0.01, xanchor="left", y=0.98, yanchor="top", yref="container"),
                      height=height, **_LAYOUT, **layout)
    fig.update_xaxes(**_AXIS)
    fig.update_yaxes(**_AXIS)
    return fig


def _colour(i: int) -> str:
    return PALETTE[i % len(PALETTE)]


def _note(fig: go.Figure, text: str) -> go.Figure:
    fig.add_annotation(text=text, xref="paper", yref="paper", x=0.5, y=0.5, showarrow=False,
                       font=dict(size=13, color="#666"))
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    return fig


def _name(rd: RunData, many: bool, what: str = "") -> str:
    if not many:
        return what or rd.run_id
    return f"{rd.run_id} · {what}" if what else rd.run_id


def _group_order(dim: str, groups: list[str]) -> list[str]:
    """Deciles by number (D1..D10, not D1, D10, D2), age bands youngest first, others alphabetically."""
    if dim == "income_decile":
        return sorted(groups, key=lambda g: int(g[1:]) if g[1:].isdigit() else 99)
    if dim == "age_band":
        return sorted(groups, key=lambda g: int(g.split("-")[0].rstrip("+")) if g[:1].isdigit() else 999)
    return sorted(groups)


# ============================================================================ figures
def score_over_time(runs: Runs) -> go.Figure:
    """Mean score per day (daily.parquet) with percentiles 1, 10, 50, 90 and 99 of the first scorer.

    With several scorers, each scorer's mean gets its own line; percentiles are of the first
    scorer (the `score` column of citizens.parquet).
    """
    rds = _runs(runs)
    many = len(rds) > 1
    fig = _fig("Score over time: mean and percentiles")
    any_score = False
    for i, rd in enumerate(rds):
        means = [c for c in rd.daily if c == "mean_score" or c.endswith(":mean_score")]
        for s, col in enumerate(means):
            any_score = True
            label = "mean" if col == "mean_score" else f"mean {col.split(':')[0]}"
            # other scorers have other scales: listed in the legend, hidden until clicked
            fig.add_trace(go.Scatter(x=rd.daily["day"], y=rd.daily[col], mode="lines", name=_name(rd, many, label),
                                     legendgroup=rd.run_id, visible=True if s == 0 else "legendonly",
                                     line=dict(color=_colour(i if many else s), width=2.5,
                                               dash=DASHES[s % len(DASHES)])))
        h = rd.score_history
        if h is None or not len(h.days):
            continue
        for q, p in enumerate(QUANTILES):
            fig.add_trace(go.Scatter(
                x=h.days, y=h.quantile(p), mode="lines", name=_name(rd, many, f"p{round(p * 100)} {h.scorer}"),
                legendgroup=rd.run_id, visible=True if p in (0.1, 0.5, 0.9) or not many else "legendonly",
                line=dict(color=_colour(i) if many else "#555", width=1,
                          dash=("dot", "dash", "solid", "dash", "dot")[q])))
    if not any_score:
        return _note(fig, "no scorer in these runs: no score")
    fig.update_xaxes(title_text="day")
    fig.update_yaxes(title_text="score (points)")
    return fig


def score_histogram(runs: Runs) -> go.Figure:
    """Final scores (citizens.parquet) in bins of the score range; a log axis shows the thin tails."""
    rds = _runs(runs)
    many = len(rds) > 1
    fig = _fig("Final score distribution (share of citizens, log scale)")
    drawn = False
    for i, rd in enumerate(rds):
        if not rd.manifest.get("scorers") or rd.first_scorer is None:
            continue
        initial, width, lo, nbins = _bins(rd.first_scorer)
        score = pq.read_table(rd.folder / "citizens.parquet", columns=["score"]).column("score").to_numpy()
        score = score[np.isfinite(score)]
        idx = np.clip(np.rint((score - initial) / width).astype(np.int64) - lo, 0, nbins - 1)
        counts = np.bincount(idx, minlength=nbins)
        nz = counts > 0
        centres = initial + (np.arange(nbins) + lo) * width
        fig.add_trace(go.Bar(x=centres[nz], y=counts[nz] / max(len(score), 1), width=width,
                             name=_name(rd, many, "final score"), marker_color=_colour(i),
                             opacity=0.6 if many else 0.9,
                             hovertemplate="score %{x}: %{y:.4%}<extra>" + rd.run_id + "</extra>"))
        drawn = True
    if not drawn:
        return _note(fig, "no scorer in these runs: no score")
    fig.update_layout(barmode="overlay", bargap=0)
    fig.update_xaxes(title_text="final score (points, bin centre)")
    fig.update_yaxes(title_text="share of citizens", type="log", tickformat="~%")
    return fig


def tier_shares(runs: Runs) -> go.Figure:
    """Share of citizens in each tier of the first scorer over time (rebuilt from the ledger)."""
    rds = _runs(runs)
    many = len(rds) > 1
    fig = _fig("Tier shares over time (log scale: the small bottom tiers matter most)")
    drawn = False
    for i, rd in enumerate(rds):
        h = rd.score_history
        if h is None or not len(h.days) or h.tier_names == [""]:
            continue
        share = h.tier_counts / max(h.total, 1)
        for t, name in enumerate(h.tier_names):
            if not share[:, t].any():
                continue
            y = np.where(share[:, t] > 0, share[:, t], np.nan)  # an empty tier is a gap, not a drop to 0 on a log axis
            fig.add_trace(go.Scatter(
                x=h.days, y=y, mode="lines", name=_name(rd, many, f"tier {name}"), legendgroup=rd.run_id,
                line=dict(color=_colour(i) if many else _colour(t), dash=DASHES[t % len(DASHES)] if many else "solid"),
                hovertemplate=f"tier {name}, day %{{x}}: %{{y:.3%}}<extra>{rd.run_id}</extra>"))
            drawn = True
    if not drawn:
        return _note(fig, "no tiers in these runs")
    fig.update_xaxes(title_text="day")
    fig.update_yaxes(title_text="share of citizens (log scale)", tickformat="~%", type="log")
    return fig


def list_sizes(runs: Runs) -> go.Figure:
    """Citizens on each list at the end of each day (daily.parquet), per 1,000 citizens."""
    rds = _runs(runs)
    many = len(rds) > 1
    fig = _fig("List sizes over time (per 1,000 citizens)")
    drawn = False
    for i, rd in enumerate(rds):
        punitive = {p.split(":", 1)[1] if not rd.multi else p for p in rd.manifest.get("punitive_lists", [])}
        for li, (label, col) in enumerate(rd.list_columns()):
            fig.add_trace(go.Scatter(
                x=rd.daily["day"], y=rd.daily[col] * 1000.0 / rd.n, mode="lines", legendgroup=rd.run_id,
                name=_name(rd, many, f"{label}" + (" (punitive)" if label in punitive else "")),
                line=dict(color=_colour(i) if many else _colour(li), dash=DASHES[li % len(DASHES)] if many else None),
                customdata=rd.daily[col],
                hovertemplate=f"{label}, day %{{x}}: %{{customdata:,}} citizens<extra>{rd.run_id}</extra>"))
            drawn = True
    if not drawn:
        return _note(fig, "no lists in these runs")
    fig.update_xaxes(title_text="day")
    fig.update_yaxes(title_text="citizens on the list per 1,000")
    return fig


def measure_counts(rd: RunData) -> list[tuple[str, str, bool, int]]:
    """(kind, measure, wrongful, count) from measures.parquet."""
    return [(k, m, bool(w), int(c)) for k, m, w, c in rd.sql(
        f"SELECT kind, measure, wrongful, count(*) FROM {rd.table('measures')} GROUP BY ALL ORDER BY ALL")]


def sanctions_rewards(runs: Runs) -> go.Figure:
    """Sanctions and rewards per 1,000 citizen-years by measure, split into rightful and wrongful.

    A measure is wrongful when it rests on false records (measures.wrongful). Bars are horizontal
    (measure names are long); with several runs each run has its own bar per measure, and the
    wrongful part (hatched) sits on top of the rightful part.
    """
    rds = _runs(runs)
    many = len(rds) > 1
    rates: dict[str, dict[str, dict[tuple[str, bool], float]]] = {"sanction": {}, "reward": {}}
    for rd in rds:
        for kind, measure, wrong, count in measure_counts(rd):
            if kind in rates:
                short = measure.split(":", 1)[1] if ":" in measure and not rd.multi else measure
                cell = rates[kind].setdefault(short, {})
                cell[(rd.run_id, wrong)] = cell.get((rd.run_id, wrong), 0.0) + 1000.0 * count / rd.citizen_years
    if not any(rates.values()):
        return _note(_fig("Sanctions and rewards per 1,000 citizen-years"), "no sanctions or rewards in these runs")
    sizes = [max(len(rates[k]), 1) for k in ("sanction", "reward")]
    fig = make_subplots(rows=2, cols=1, subplot_titles=("Sanctions", "Rewards"), row_heights=sizes,
                        vertical_spacing=0.12 if sum(sizes) > 8 else 0.2)
    height = 160 + 24 * sum(sizes) * (len(rds) if many else 1)
    _style(fig, "Sanctions and rewards per 1,000 citizen-years: rightful and wrongful", max(height, 420),
           barmode="group")
    for row, kind in ((1, "sanction"), (2, "reward")):
        per = rates[kind]
        names = sorted(per, key=lambda m: sum(per[m].values()))  # largest at the top of a horizontal chart
        if not names:
            fig.add_annotation(text=f"no {kind}s applied", xref=f"x{row} domain", yref=f"y{row} domain", x=0.5,
                               y=0.5, showarrow=False)
            continue
        for i, rd in enumerate(rds):
            right = [per[m].get((rd.run_id, False), 0.0) for m in names]
            wrong = [per[m].get((rd.run_id, True), 0.0) for m in names]
            colour = _colour(i) if many else "#4c78a8"
            fig.add_trace(go.Bar(y=names, x=right, orientation="h", name=_name(rd, many, "rightful"),
                                 marker_color=colour, offsetgroup=rd.run_id, legendgroup=f"{rd.run_id}-r",
                                 showlegend=row == 1,
                                 hovertemplate="%{y}: %{x:.3f} rightful per 1,000 citizen-years<extra>"
                                 + rd.run_id + "</extra>"), row=row, col=1)
            fig.add_trace(go.Bar(y=names, x=wrong, base=right, orientation="h",
                                 name=_name(rd, many, "wrongful (false records)"),
                                 marker=dict(color="#e45756" if not many else colour, pattern_shape="/",
                                             pattern_fgcolor="#e45756"),
                                 offsetgroup=rd.run_id, legendgroup=f"{rd.run_id}-w", showlegend=row == 1,
                                 hovertemplate="%{y}: %{x:.3f} wrongful per 1,000 citizen-years<extra>"
                                 + rd.run_id + "</extra>"), row=row, col=1)
    fig.update_xaxes(title_text="per 1,000 citizen-years")
    return fig


def behaviour_change(runs: Runs) -> go.Figure:
    """Change in each act against the paired baseline: antisocial acts (the claimed benefit) and
    lawful expression and movement (the chilling effect) in separate panels."""
    rds = _runs(runs)
    many = len(rds) > 1
    fig = make_subplots(rows=1, cols=2, horizontal_spacing=0.25,
                        subplot_titles=("Antisocial acts (benefit: fewer is the aim)",
                                        "Lawful expression and movement (chilling: fewer is harm)"))
    _style(fig, "Behaviour against the paired baseline (relative change in true events)", 520, barmode="group")
    drawn = False
    for i, rd in enumerate(rds):
        s = rd.summary
        change = s.get("behaviour_change")
        if not change:
            continue
        for col, names, total_key, label in ((1, ANTISOCIAL, "antisocial_change", "all antisocial acts"),
                                             (2, EXPRESSION, "expression_change", "all lawful expression")):
            ev = [e for e in names if e in change]
            y = [label] + ev
            x = [s.get(total_key)] + [change[e] for e in ev]
            fig.add_trace(go.Bar(y=y, x=x, orientation="h", name=_name(rd, many, "change vs baseline"),
                                 marker_color=_colour(i), legendgroup=rd.run_id, showlegend=col == 1,
                                 customdata=[label] + [DESCRIPTION.get(e, e) for e in ev],
                                 hovertemplate="%{customdata}: %{x:+.2%}<extra>" + rd.run_id + "</extra>"),
                          row=1, col=col)
        drawn = True
    if not drawn:
        return _note(_fig("Behaviour against the paired baseline"),
                     "no paired baseline run: behaviour change cannot be measured")
    fig.update_xaxes(tickformat="+.0%", title_text="change vs baseline", zeroline=True, zerolinecolor="#444")
    fig.update_yaxes(autorange="reversed")
    return fig


def inequality(runs: Runs) -> go.Figure:
    """Gini of score, income and wealth for each run and its paired baseline."""
    rds = _runs(runs)
    many = len(rds) > 1
    fig = _fig("Inequality: Gini against the paired baseline", barmode="group")
    measures = ("score", "income", "wealth")
    for i, rd in enumerate(rds):
        g = rd.summary.get("gini") or {}
        for which, suffix, opacity in (("regime", "", 1.0), ("paired baseline", "_baseline", 0.45)):
            vals = [g.get(f"{m}{suffix}") for m in measures]
            if all(v is None for v in vals):
                continue
            fig.add_trace(go.Bar(x=list(measures), y=[v if v is not None else 0 for v in vals],
                                 name=_name(rd, many, which) if many else which, marker_color=_colour(i),
                                 opacity=opacity, offsetgroup=f"{i}-{which}", legendgroup=rd.run_id,
                                 text=["n/a" if v is None else f"{v:.3f}" for v in vals], textposition="outside",
                                 hovertemplate="Gini of %{x}: %{y:.4f}<extra>" + rd.run_id + "</extra>"))
    fig.update_yaxes(title_text="Gini (0 = equal, 1 = one has all)", range=[0, 1])
    return fig


def _lorenz(rd: RunData, column: str) -> tuple[np.ndarray, np.ndarray] | None:
    v = pq.read_table(rd.folder / "citizens.parquet", columns=[column]).column(column).to_numpy()
    v = np.sort(np.clip(v.astype(np.float64), 0, None))
    if not len(v) or v.sum() <= 0:
        return None
    cum = np.concatenate([[0.0], np.cumsum(v)]) / v.sum()
    pop = np.linspace(0, 1, 101)
    return pop, cum[np.rint(pop * len(v)).astype(np.int64)]


def lorenz(runs: Runs, column: str = "savings") -> go.Figure:
    """Lorenz curve of wealth (savings; or `income_final`) for each run and its baseline, 100 points."""
    if column not in ("savings", "income_final"):
        raise ScorelabError(f"got {column!r}", key="column", allowed="savings, income_final")
    rds = _runs(runs)
    many = len(rds) > 1
    what = "wealth (savings)" if column == "savings" else "income"
    fig = _fig(f"Lorenz curve of {what}")
    fig.add_trace(go.Scatter(x=[0, 1], y=[0, 1], mode="lines", name="equality", line=dict(color="#aaa", width=1)))
    for i, rd in enumerate(rds):
        for which, r, dash in (("regime", rd, "solid"), ("paired baseline", rd.baseline, "dot")):
            if r is None:
                continue
            pts = _lorenz(r, column)
            if pts is None:
                continue
            fig.add_trace(go.Scatter(x=pts[0], y=pts[1], mode="lines", name=_name(rd, many, which) if many else which,
                                     line=dict(color=_colour(i), dash=dash), legendgroup=rd.run_id,
                                     hovertemplate="poorest %{x:.0%} hold %{y:.1%}<extra>" + r.run_id + "</extra>"))
    fig.update_xaxes(title_text="share of citizens, poorest first", tickformat=".0%")
    fig.update_yaxes(title_text=f"share of {what}", tickformat=".0%")
    return fig


def ties_lost(rd: RunData) -> dict[bool, np.ndarray]:
    """Citizens by initial ties lost (0..MAX_LOST_TIES, the last bin is 'or more'), punitively listed or not."""
    cols = rd.punitive_columns()
    listed = " OR ".join('"' + c.replace('"', '""') + '"' for c in cols) if cols else "false"
    rows = rd.sql(f"""SELECT ({listed}) AS listed,
                             least(greatest(degree_initial - (degree - new_ties), 0), {MAX_LOST_TIES}) AS lost,
                             count(*) FROM {rd.table('citizens')} GROUP BY ALL""")
    out = {False: np.zeros(MAX_LOST_TIES + 1, np.int64), True: np.zeros(MAX_LOST_TIES + 1, np.int64)}
    for is_listed, lost, count in rows:
        out[bool(is_listed)][int(lost)] += int(count)
    return out


def network_isolation(runs: Runs) -> go.Figure:
    """Initial ties lost by the end of the run, for citizens ever on a punitive list and for the rest."""
    rds = _runs(runs)
    many = len(rds) > 1
    fig = _fig("Network isolation: contacts lost (share of each group)", barmode="group")
    x = [str(k) for k in range(MAX_LOST_TIES)] + [f"{MAX_LOST_TIES}+"]
    for i, rd in enumerate(rds):
        lost = ties_lost(rd)
        for is_listed, label, opacity in ((True, "ever punitively listed", 1.0), (False, "never listed", 0.45)):
            k = lost[is_listed]
            if not k.sum():
                continue
            fig.add_trace(go.Bar(x=x, y=k / k.sum(), name=_name(rd, many, label) if many else label,
                                 marker_color=_colour(i), opacity=opacity, customdata=k, legendgroup=rd.run_id,
                                 hovertemplate="%{x} ties lost: %{y:.2%} (%{customdata:,} citizens)<extra>"
                                 + rd.run_id + "</extra>"))
    fig.update_xaxes(title_text="initial contacts lost (ties cut by avoidance or others)", type="category")
    fig.update_yaxes(title_text="share of the group (log scale)", type="log", tickformat="~%")
    return fig


def groups(runs: Runs, dimension: str = "income_decile") -> go.Figure:
    """Listed share and sanctions per 1,000 citizen-years by group (summary `by_group`)."""
    dims = ("income_decile", "age_band", "urban", "sex")
    if dimension not in dims:
        raise ScorelabError(f"got {dimension!r}", key="dimension", allowed=", ".join(dims))
    rds = _runs(runs)
    many = len(rds) > 1
    fig = make_subplots(rows=1, cols=2, subplot_titles=("Ever on a punitive list", "Sanctions per 1,000 citizen-years"),
                        horizontal_spacing=0.12)
    _style(fig, f"Outcomes by {dimension.replace('_', ' ')}", 440, barmode="group")
    for i, rd in enumerate(rds):
        rows = ((rd.summary.get("by_group") or {}).get("groups") or {}).get(dimension) or {}
        order = _group_order(dimension, list(rows))
        impact = ((rd.summary.get("by_group") or {}).get("disparate_impact") or {}).get(dimension) or {}
        for col, key, ikey in ((1, "listed_share", "listing"), (2, "sanctions_per_1000", "sanctions")):
            ratio = (impact.get(ikey) or {}).get("ratio")
            flag = " ⚠ fails four-fifths" if ratio is not None and ratio < FOUR_FIFTHS else ""
            label = (f"{rd.run_id} · " if many else "") + f"{ikey}: " + (
                f"ratio {ratio:.2f}{flag}" if ratio is not None else "no adverse outcome")
            fig.add_trace(go.Bar(x=order, y=[rows[g].get(key) or 0 for g in order], name=label,
                                 marker_color=_colour(i), legendgroup=f"{rd.run_id}-{col}",
                                 hovertemplate="%{x}: %{y:.4g}<extra>" + rd.run_id + "</extra>"), row=1, col=col)
    fig.update_yaxes(tickformat=".2%", row=1, col=1)
    return fig


FIGURES = {
    "score_over_time": score_over_time, "score_histogram": score_histogram, "tier_shares": tier_shares,
    "list_sizes": list_sizes, "sanctions_rewards": sanctions_rewards, "behaviour_change": behaviour_change,
    "inequality": inequality, "lorenz": lorenz, "network_isolation": network_isolation, "groups": groups,
}
