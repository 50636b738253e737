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
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import plotly.graph_objects as go
import pyarrow.parquet as pq
from plotly.subplots import make_subplots

from scorelab.behaviour.catalogue import CATALOGUE
from scorelab.errors import ScorelabError
from scorelab.ledger.explain import connection, yaml_data
from scorelab.metrics.summary import ANTISOCIAL, EXPRESSION, summarize
from scorelab.regime.loader import validate_regime
from scorelab.regime.schema import Regime
from scorelab.report.render import STYLES, dig, interval_of, is_replicated, mean_of, measure
from scorelab.store.runfolder import read_manifest, resolve_run

RunArg = str | Path
Runs = RunArg | Sequence[RunArg]

# Ten colours a reader tells apart (Tableau 10): runs 1-6 of a comparison never share a hue family.
PALETTE = ("#4e79a7", "#f28e2b", "#59a14f", "#b07aa1", "#e15759", "#76b7b2", "#edc948", "#9c755f", "#ff9da7",
           "#bab0ac")
RIGHTFUL, WRONGFUL = "#4e79a7", "#e15759"
BENEFIT, CHILLING = "#59a14f", "#f28e2b"
DASHES = ("solid", "dash", "dot", "dashdot", "longdash", "longdashdot")
QUANTILES = (0.01, 0.1, 0.5, 0.9, 0.99)
MAX_CHECKPOINTS = 400  # days sampled for the score distribution over time
TARGET_BINS = 200      # score histogram bins over the score range
MAX_LOST_TIES = 20     # ties lost are shown up to this count; more goes into the last bar
DESCRIPTION = {e.name: e.description for e in CATALOGUE}

# A small explicit template (plotly's default adds ~8 KB of JSON to every figure and costs ~20 ms to
# apply); it also styles every axis of every subplot, so figures need no update_xaxes for their look.
_AXIS = dict(showgrid=True, gridcolor="#e5e5e5", zeroline=False, linecolor="#999", showline=True, automargin=True)
TEMPLATE = go.layout.Template(layout=dict(
    font=dict(family="system-ui, sans-serif", size=12), paper_bgcolor="white", plot_bgcolor="white",
    hovermode="closest", xaxis=_AXIS, yaxis=_AXIS, annotationdefaults=dict(font=dict(size=12))))


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
    """What the figures need from one run folder, read once and cached per folder.

    A replication set (a folder with set.json naming its runs) reads as its first run, except for
    the summary, which is the set's: every numeric measure a {"mean", "sd", "ci95", "n"} entry.
    """

    def __init__(self, folder: Path, set_folder: Path | None = None, set_runs: int | None = None) -> None:
        self.folder = folder
        self.set_folder = set_folder
        self.is_set = set_folder is not None
        self.set_runs = set_runs
        self.manifest = read_manifest(folder)
        self.run_id: str = set_folder.name if set_folder is not None else self.manifest.get("run_id", folder.name)
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
        data = yaml_data(self.regime_text, str(self.folder / "regime.yaml"))
        return data if isinstance(data, dict) else {}

    @functools.cached_property
    def regime(self) -> Regime:
        """The validated regime; raises ScorelabError if the run's file no longer validates."""
        return validate_regime(self.regime_data, str(self.folder / "regime.yaml"))

    @functools.cached_property
    def first_scorer(self) -> dict | None:
        scorers = self.regime_data.get("scorers") or []
        return scorers[0] if scorers and isinstance(scorers[0], dict) else None

    @functools.cached_property
    def summary(self) -> dict:
        if self.set_folder is not None:
            return set_summary(self.set_folder)
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
        return connection().cursor().execute(query).fetchall()

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


@functools.lru_cache(maxsize=8)
def _cached_set(path: str, stamp: int) -> RunData:
    folder = Path(path)
    members = set_members(folder)
    return RunData(members[0], set_folder=folder, set_runs=len(members))


SET_FILE = "set.json"
_SET_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")  # an id names a folder inside runs_dir, never a path


def is_set_folder(p: Path) -> bool:
    return (p / SET_FILE).is_file() and not (p / "manifest.json").is_file()


def set_members(folder: Path) -> list[Path]:
    """The run folders of a replication set, from its set.json ({"runs": [run ids or folders]})."""
    path = folder / SET_FILE
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise ScorelabError(f"unreadable replication set: {exc}", path=str(path)) from None
    runs = data.get("runs") if isinstance(data, dict) else data
    out = []
    for r in runs or ():
        name = r.get("run_id") or r.get("folder") if isinstance(r, dict) else r
        cand = [Path(str(name)), folder.parent / str(name), folder / str(name)]
        hit = next((c for c in cand if (c / "manifest.json").is_file()), None)
        if hit is None:
            raise ScorelabError(f"run {name!r} of the set is missing", path=str(path), key="runs")
        out.append(hit)
    if not out:
        raise ScorelabError("the set names no runs", path=str(path), key="runs", allowed="a list of run ids")
    return out


def set_summary(folder: Path) -> dict:
    """The set's summary: its summary.json, or what `scorelab summary SET` computes."""
    cached = folder / "summary.json"
    if cached.is_file():
        try:
            return json.loads(cached.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise ScorelabError(f"unreadable set summary: {exc}", path=str(cached)) from None
    from scorelab import api

    return api.summary(folder)


def resolve(run: RunArg, runs_dir: Path | None = None) -> Path:
    """A run folder or a replication-set folder, given as a path or as an id in runs_dir."""
    p = Path(run)
    by_id = runs_dir is not None and _SET_ID.fullmatch(str(run)) is not None
    for cand in [p] + ([Path(runs_dir) / str(run)] if by_id else []):
        if is_set_folder(cand):
            return cand
    return resolve_run(run, Path(runs_dir) if runs_dir is not None else None)


def run_data(run: RunArg, runs_dir: Path | None = None) -> RunData:
    """The cached data of a run (or set) folder (recomputed when its manifest or set file changes)."""
    resolved = resolve(run, runs_dir).resolve()
    if is_set_folder(resolved):
        return _cached_set(str(resolved), (resolved / SET_FILE).stat().st_mtime_ns)
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
# A figure's title is the report's own heading (figure titles never collide with subplot titles);
# legends sit under the plot, in the figure's own margin, so they cover no data.
def _new() -> go.Figure:
    """A figure that skips plotly's per-property validation (12 ms a trace): the report draws about 200 traces."""
    return go.Figure(layout={"template": TEMPLATE}, _validate=False)


def _bar(**kw) -> dict:
    return {"type": "bar", **{k: v for k, v in kw.items() if v is not None}}


def _scatter(**kw) -> dict:
    return {"type": "scatter", **{k: v for k, v in kw.items() if v is not None}}


def _fig(title: str = "", height: int = 420, **layout) -> go.Figure:
    return _style(_new(), title, height, **layout)


def _subplots(**kw) -> go.Figure:
    fig = make_subplots(figure=_new(), **kw)
    fig.update_annotations(font_size=13)  # the subplot titles
    return fig


def _style(fig: go.Figure, title: str, height: int, legend_items: int = 0, **layout) -> go.Figure:
    """Shared look: no title inside the plot (`title` is the figure's name, kept in its metadata), the legend
    below the plot in rows of about four, and the figure as wide as its container."""
    rows = math.ceil(legend_items / 4) if legend_items else 0
    margin = {**dict(l=60, r=20, t=36, b=60 + 24 * rows), **layout.pop("margin", {})}
    fig.update_layout({"height": height + 24 * max(rows - 1, 0), "meta": {"title": title}, "autosize": True,
                       "margin": margin, "legend": dict(orientation="h", yref="container", y=0.0, yanchor="bottom",
                                                        x=0.0, xanchor="left", font=dict(size=11), tracegroupgap=4),
                       **layout})
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


def _short(rd: RunData, measure: str) -> str:
    return measure.split(":", 1)[1] if ":" in measure and not rd.multi else measure


def _grid(k: int, cols: int = 3) -> tuple[int, int]:
    c = min(k, cols)
    return math.ceil(k / c), c


def _small_multiples(rds: list[RunData], height_per_row: int = 300, **kw) -> tuple[go.Figure, list[tuple[int, int]]]:
    """One panel per run, each with its own axes, three to a row."""
    rows, cols = _grid(len(rds))
    fig = _subplots(rows=rows, cols=cols, subplot_titles=[rd.run_id for rd in rds],
                    horizontal_spacing=0.07, vertical_spacing=min(0.6 / rows, 0.2), **kw)
    cells = [(i // cols + 1, i % cols + 1) for i in range(len(rds))]
    return fig, cells


def _panel_note(fig: go.Figure, cell: tuple[int, int] | None, text: str) -> None:
    """A word in the middle of one panel (or of the figure) where there is nothing to draw."""
    if cell is None:
        fig.add_annotation(text=text, xref="paper", yref="paper", x=0.5, y=0.5, showarrow=False,
                           font=dict(size=12, color="#666"))
        return
    # a text trace, not an annotation: plotly.js cannot place an annotation on a subplot without traces
    fig.add_trace(_scatter(x=[0.5], y=[0.5], mode="text", text=[text], textfont=dict(size=12, color="#666"),
                           hoverinfo="skip", showlegend=False), row=cell[0], col=cell[1])
    blank = dict(showgrid=False, showticklabels=False, showline=False, zeroline=False, ticks="", title_text="",
                 type="linear", range=[0, 1])
    fig.update_xaxes(row=cell[0], col=cell[1], **blank)  # not `visible=False`: a hidden axis has no domain to
    fig.update_yaxes(row=cell[0], col=cell[1], **blank)  # place the note in


def _error(values: Sequence) -> dict | None:
    """Error bars for replication-set entries (their 95% intervals); None when no value has one."""
    if not any(is_replicated(v) for v in values):
        return None
    up, down = [], []
    for v in values:
        m, ci = mean_of(v), interval_of(v)
        up.append(ci[1] - m if ci and m is not None else 0)
        down.append(m - ci[0] if ci and m is not None else 0)
    return dict(type="data", symmetric=False, array=up, arrayminus=down, color="#333", thickness=1.2, width=4)


def _means(values: Sequence) -> list[float | None]:
    return [mean_of(v) for v in values]


def _labels(values: Sequence, style: str) -> list[str]:
    return [measure(v, style, missing="") if not is_replicated(v) else STYLES[style](mean_of(v))
            if mean_of(v) is not None else "" for v in values]


def _position(rd: RunData, points: np.ndarray) -> np.ndarray:
    """A score as its position in the regime's own range, 0-100% (a common footing across regimes)."""
    sc = (rd.first_scorer or {}).get("score") or {}
    lo, hi = float(sc.get("min", 0)), float(sc.get("max", 1))
    return (np.asarray(points, dtype=np.float64) - lo) / (hi - lo) if hi > lo else np.zeros(len(points))


# ============================================================================ the answers, one chart each
def whom(runs: Runs) -> go.Figure:
    """Who ends up on a punitive list: the share of each age band and income decile ever listed, with counts."""
    rds = _runs(runs)
    many = len(rds) > 1
    fig = _subplots(rows=1, cols=2, subplot_titles=("by age band", "by income decile"), horizontal_spacing=0.1,
                        column_widths=[0.4, 0.6])
    _style(fig, "Whom it punishes: citizens ever on a punitive list", 420, legend_items=len(rds) if many else 0,
           barmode="group")
    drawn = False
    for i, rd in enumerate(rds):
        for col, dim in ((1, "age_band"), (2, "income_decile")):
            rows = dig(rd.summary, "by_group", "groups", dim) or {}
            order = _group_order(dim, list(rows))
            if not order:
                continue
            shares = [rows[g].get("listed_share") for g in order]
            sizes = [mean_of(rows[g].get("citizens")) or 0 for g in order]
            counts = [(mean_of(v) or 0) * n for v, n in zip(shares, sizes, strict=True)]
            text = [f"{c:,.0f}" for c in counts] if not many else None
            fig.add_trace(_bar(
                x=order, y=_means(shares), name=rd.run_id, marker_color=_colour(i) if many else RIGHTFUL,
                error_y=_error(shares), text=text, textposition="outside", cliponaxis=False, legendgroup=rd.run_id,
                showlegend=many and col == 1, customdata=np.c_[counts, sizes],
                hovertemplate="%{x}: %{y:.2%} ever listed (%{customdata[0]:,.0f} of %{customdata[1]:,.0f})"
                              f"<extra>{rd.run_id}</extra>"), row=1, col=col)
            drawn = True
    if not drawn:
        return _note(_fig(), "no group measures in these runs")
    fig.update_yaxes(tickformat=".1%", rangemode="tozero")
    fig.update_yaxes(title_text="share ever on a punitive list", row=1, col=1)
    return fig


def wrongful(runs: Runs) -> go.Figure:
    """Rightful beside wrongful sanctions, each on its own scale, so the wrongful few can be seen.

    One run: sanctions by measure, rightful in one panel and wrongful in the other, with counts.
    Several: the share of sanctions that rested on false records, and wrongful sanctions per 1,000
    citizen-years, one bar per run (a common footing: rates, not raw counts).
    """
    rds = _runs(runs)
    if len(rds) == 1:
        rd = rds[0]
        counts: dict[str, list[int]] = {}
        for kind, m, wrong, k in measure_counts(rd):
            if kind == "sanction":
                counts.setdefault(_short(rd, m), [0, 0])[int(wrong)] += k
        if not counts:
            return _note(_fig("How often wrongly"), "no sanctions in this run")
        names = sorted(counts, key=lambda m: (counts[m][1], counts[m][0]))
        right, wrong = [counts[m][0] for m in names], [counts[m][1] for m in names]
        fig = _subplots(rows=1, cols=2, shared_yaxes=True, horizontal_spacing=0.04,
                            subplot_titles=(f"rightful: {sum(right):,}", f"wrongful (false records): {sum(wrong):,}"))
        _style(fig, "How often wrongly: sanctions by measure", 140 + 26 * len(names), showlegend=False)
        for col, vals, colour, what in ((1, right, RIGHTFUL, "rightful"), (2, wrong, WRONGFUL, "wrongful")):
            fig.add_trace(_bar(y=names, x=vals, orientation="h", marker_color=colour, text=[f"{v:,}" for v in vals],
                                 textposition="outside", cliponaxis=False,
                                 hovertemplate=f"%{{y}}: %{{x:,}} {what}<extra></extra>"), row=1, col=col)
        fig.update_xaxes(title_text="sanctions (count)", rangemode="tozero")
        fig.update_xaxes(range=[0, max(max(wrong), 1) * 1.25], row=1, col=2)
        fig.update_xaxes(range=[0, max(max(right), 1) * 1.2], row=1, col=1)
        return fig
    fig = _subplots(rows=1, cols=2, horizontal_spacing=0.12,
                        subplot_titles=("share of sanctions resting on false records",
                                        "wrongful sanctions per 1,000 citizen-years"))
    _style(fig, "How often wrongly", 400, showlegend=False)
    ids = [rd.run_id for rd in rds]
    share = [rd.summary.get("wrongful_sanction_share") for rd in rds]
    rate = []
    for rd in rds:
        s, t = mean_of(rd.summary.get("wrongful_sanction_share")), mean_of(rd.summary.get("sanctions_total"))
        rate.append(1000.0 * s * t / rd.citizen_years if s is not None and t is not None else None)
    colours = [_colour(i) for i in range(len(rds))]
    # a run without sanctions has no share: say so rather than draw nothing
    share_text = [t if mean_of(v) is not None else "no sanctions" for t, v in zip(_labels(share, "pct"), share,
                                                                                  strict=True)]
    rate_text = [t if v is not None else "no sanctions" for t, v in zip(_labels(rate, "rate"), rate, strict=True)]
    fig.add_trace(_bar(x=ids, y=[v or 0 for v in _means(share)], marker_color=colours, error_y=_error(share),
                       text=share_text, textposition="outside", cliponaxis=False,
                       hovertemplate="%{x}: %{y:.3%}<extra></extra>"), row=1, col=1)
    fig.add_trace(_bar(x=ids, y=[v or 0 for v in rate], marker_color=colours, text=rate_text, textposition="outside",
                       cliponaxis=False, hovertemplate="%{x}: %{y:.3g}<extra></extra>"), row=1, col=2)
    top = max([v or 0 for v in _means(share)] + [0])
    fig.update_yaxes(tickformat=".1%", range=[0, max(top * 1.25, 0.01)], row=1, col=1)
    fig.update_yaxes(range=[0, max(max([v or 0 for v in rate] + [0]) * 1.25, 0.1)], row=1, col=2)
    fig.update_xaxes(tickangle=-20)
    return fig


def benefit_and_chilling(runs: Runs) -> go.Figure:
    """The claimed benefit (fewer antisocial acts) beside the chilling effect (less lawful expression and
    movement), both against the paired baseline, with 95% intervals for replication sets."""
    rds = _runs(runs)
    many = len(rds) > 1
    fig = _fig("What it does to behaviour: benefit and chilling against the paired baseline", 380,
               legend_items=len(rds) if many else 0, barmode="group")
    x = ["antisocial acts (the claimed benefit: fewer is the aim)",
         "lawful expression and movement (the chilling effect: fewer is harm)"]
    drawn = False
    for i, rd in enumerate(rds):
        vals = [rd.summary.get("antisocial_change"), rd.summary.get("expression_change")]
        if all(mean_of(v) is None for v in vals):
            continue
        fig.add_trace(_bar(x=x, y=_means(vals), name=rd.run_id, error_y=_error(vals),
                             marker_color=_colour(i) if many else [BENEFIT, CHILLING], text=_labels(vals, "change"),
                             textposition="outside", cliponaxis=False, showlegend=many,
                             hovertemplate="%{x}: %{y:+.2%}<extra>" + rd.run_id + "</extra>"))
        drawn = True
    if not drawn:
        return _note(fig, "no paired baseline run: behaviour change cannot be measured")
    fig.update_yaxes(tickformat="+.1%", title_text="change against the baseline", zeroline=True,
                     zerolinecolor="#444", zerolinewidth=1.5)
    return fig


def friendships(runs: Runs) -> go.Figure:
    """Contacts lost by the listed against everyone else, and citizens penalised only by association."""
    rds = _runs(runs)
    many = len(rds) > 1
    fig = _subplots(rows=1, cols=2, horizontal_spacing=0.14,
                        subplot_titles=("contacts lost by the end, on average",
                                        "citizens penalised only by association (S1-M7)"))
    _style(fig, "What it does to friendships and family", 400, legend_items=len(rds) if many else 0,
           barmode="group")
    drawn = False
    for i, rd in enumerate(rds):
        net = rd.summary.get("network") or {}
        lost = [net.get("mean_degree_lost_listed"), net.get("mean_degree_lost_others")]
        if any(mean_of(v) is not None for v in lost):
            fig.add_trace(_bar(x=["ever on a punitive list", "everyone else"], y=_means(lost), name=rd.run_id,
                                 error_y=_error(lost), marker_color=_colour(i) if many else [WRONGFUL, RIGHTFUL],
                                 text=_labels(lost, "num"), textposition="outside", cliponaxis=False,
                                 legendgroup=rd.run_id, showlegend=many,
                                 hovertemplate="%{x}: %{y:.3f} contacts lost<extra>" + rd.run_id + "</extra>"),
                          row=1, col=1)
            drawn = True
        share = net.get("collateral_share")
        if mean_of(share) is not None:
            count = (mean_of(share) or 0) * rd.n
            fig.add_trace(_bar(x=[rd.run_id if many else "penalised by association only"], y=[mean_of(share)],
                                 error_y=_error([share]), marker_color=_colour(i) if many else "#b07aa1",
                                 text=[f"{STYLES['pct'](mean_of(share))} ({count:,.0f})"], textposition="outside",
                                 cliponaxis=False, legendgroup=rd.run_id, showlegend=False, name=rd.run_id,
                                 hovertemplate="%{y:.2%} of citizens<extra>" + rd.run_id + "</extra>"),
                          row=1, col=2)
            drawn = True
    if not drawn:
        return _note(fig, "no network measures in these runs")
    fig.update_yaxes(rangemode="tozero", title_text="initial contacts lost", row=1, col=1)
    fig.update_yaxes(tickformat=".0%", rangemode="tozero", row=1, col=2)
    if many:
        fig.update_xaxes(tickangle=-20, row=1, col=2)
    return fig


def money(runs: Runs) -> go.Figure:
    """Savings and income of the sanctioned, the listed and the dismissed against their own baseline selves.

    The paired baseline runs the same citizens with the same random numbers, so the difference for a
    citizen is what the regime did to them. Everyone else is shown as the reference.
    """
    from scorelab.report.answers import WEALTH_GROUPS, wealth_change

    rds = _runs(runs)
    many = len(rds) > 1
    fig = _subplots(rows=1, cols=2, horizontal_spacing=0.12,
                        subplot_titles=("savings at the end (yuan)", "yearly income at the end (yuan)"))
    _style(fig, "What it does to money: change against the same citizens in the baseline", 420,
           legend_items=len(rds) if many else 0, barmode="group")
    labels = [label for _, label in WEALTH_GROUPS]
    drawn = False
    for i, rd in enumerate(rds):
        w = wealth_change(rd)
        if not w:
            continue
        for col, key in ((1, "savings"), (2, "income")):
            y = [g[key] if g["citizens"] else None for g in w]
            text = None if many else [f"{v:+,.0f} (n={g['citizens']:,})" if v is not None else "none"
                                      for v, g in zip(y, w, strict=True)]
            fig.add_trace(_bar(x=labels, y=y, name=rd.run_id, marker_color=_colour(i) if many else
                                 [WRONGFUL, WRONGFUL, WRONGFUL, RIGHTFUL], text=text, textposition="outside",
                                 cliponaxis=False, legendgroup=rd.run_id, showlegend=many and col == 1,
                                 customdata=[g["citizens"] for g in w],
                                 hovertemplate="%{x}: %{y:+,.0f} yuan (%{customdata:,} citizens)<extra>"
                                 + rd.run_id + "</extra>"), row=1, col=col)
            drawn = True
    if not drawn:
        return _note(fig, "no paired baseline run: the change in money cannot be measured")
    fig.update_yaxes(zeroline=True, zerolinecolor="#444", tickformat="+,.0f")
    fig.update_xaxes(tickangle=-15)
    return fig


def children(runs: Runs) -> go.Figure:
    """Children barred from college or school because of a household member (S1-M6), rightful and wrongful."""
    from scorelab.report.answers import _children

    rds = _runs(runs)
    many = len(rds) > 1
    if not many:
        rd = rds[0]
        c = _children(rd, rd.summary)
        if not c["barred"]:
            return _note(_fig("What it does to children"), "no child was barred from education in this run")
        names = list(c["barred"])
        fig = _subplots(rows=1, cols=2, shared_yaxes=True, horizontal_spacing=0.04,
                            subplot_titles=("rightful", "wrongful (a relative's false record)"))
        _style(fig, "What it does to children: barred because of a household member", 140 + 40 * len(names),
               showlegend=False)
        for col, key, colour in ((1, "rightful", RIGHTFUL), (2, "wrongful", WRONGFUL)):
            vals = [c["barred"][m][key] for m in names]
            fig.add_trace(_bar(y=names, x=vals, orientation="h", marker_color=colour, text=[f"{v:,}" for v in vals],
                                 textposition="outside", cliponaxis=False,
                                 hovertemplate=f"%{{y}}: %{{x:,}} {key}<extra></extra>"), row=1, col=col)
            fig.update_xaxes(range=[0, max(max(vals), 1) * 1.3], row=1, col=col)
        fig.update_xaxes(title_text="children barred (count)")
        return fig
    fig = _fig("What it does to children: barred per 1,000 citizen-years", 380, showlegend=False)
    vals = [rd.summary.get("children_barred") for rd in rds]
    fig.add_trace(_bar(x=[rd.run_id for rd in rds], y=_means(vals), error_y=_error(vals),
                         marker_color=[_colour(i) for i in range(len(rds))], text=_labels(vals, "num"),
                         textposition="outside", cliponaxis=False, hovertemplate="%{x}: %{y:.3g}<extra></extra>"))
    fig.update_yaxes(rangemode="tozero", title_text="per 1,000 citizen-years")
    fig.update_xaxes(tickangle=-20)
    return fig


# ============================================================================ more detail
def score_over_time(runs: Runs) -> go.Figure:
    """Mean score per day (daily.parquet) with percentiles 1, 10, 50, 90 and 99 of the first scorer.

    One run: in points. Several: as a position in each regime's own score range (0% its minimum,
    100% its maximum), so a 1,000-point, a 300-850 and a 350-950 score share a footing.
    """
    rds = _runs(runs)
    many = len(rds) > 1
    fig = _fig("Score over time: mean and percentiles", 440, legend_items=len(rds) * (1 if many else 6))
    any_score = False
    for i, rd in enumerate(rds):
        means = [c for c in rd.daily if c == "mean_score" or c.endswith(":mean_score")]
        for s, col in enumerate(means):
            if many and s > 0:
                continue  # other scorers have other scales: the first scorer stands for the run
            any_score = True
            label = "mean" if col == "mean_score" else f"mean {col.split(':')[0]}"
            y = _position(rd, rd.daily[col]) if many else rd.daily[col]
            fig.add_trace(_scatter(x=rd.daily["day"], y=y, mode="lines", name=_name(rd, many, label),
                                     legendgroup=rd.run_id, visible=True if s == 0 else "legendonly",
                                     line=dict(color=_colour(i if many else s), width=2.5,
                                               dash=DASHES[s % len(DASHES)])))
        h = rd.score_history
        if h is None or not len(h.days):
            continue
        for q, p in enumerate(QUANTILES):
            if many and p not in (0.1, 0.9):
                continue
            y = h.quantile(p)
            fig.add_trace(_scatter(
                x=h.days, y=_position(rd, y) if many else y, mode="lines",
                name=_name(rd, many, f"p{round(p * 100)}" + ("" if many else f" {h.scorer}")), legendgroup=rd.run_id,
                showlegend=not many, line=dict(color=_colour(i) if many else "#555", width=1,
                                               dash=("dot", "dash", "solid", "dash", "dot")[q])))
    if not any_score:
        return _note(fig, "no scorer in these runs: no score")
    fig.update_xaxes(title_text="day")
    if many:
        fig.update_yaxes(title_text="position in the regime's own score range", tickformat=".0%")
    else:
        fig.update_yaxes(title_text="score (points)")
    return fig


def score_histogram(runs: Runs) -> go.Figure:
    """Final scores (citizens.parquet) in bins of the score range; a log axis shows the thin tails.

    Several runs: one panel per run, each in its own points.
    """
    rds = _runs(runs)
    many = len(rds) > 1
    if many:
        fig, cells = _small_multiples(rds)
        _style(fig, "Final score distribution", 60 + 330 * _grid(len(rds))[0], showlegend=False)
    else:
        fig, cells = _fig("Final score distribution (share of citizens, log scale)", 400, showlegend=False), [None]
    fig.update_layout(bargap=0)
    fig.update_xaxes(title_text="final score (points)")
    fig.update_yaxes(type="log", tickformat="~%")
    drawn = False
    for i, (rd, cell) in enumerate(zip(rds, cells, strict=True)):
        if not rd.manifest.get("scorers") or rd.first_scorer is None:
            _panel_note(fig, cell, "no score")
            continue
        initial, width, lo, nbins = _bins(rd.first_scorer)
        score = pq.read_table(rd.folder / "citizens.parquet", columns=["score"]).column("score").to_numpy()
        score = score[np.isfinite(score)]
        idx = np.clip(np.rint((score - initial) / width).astype(np.int64) - lo, 0, nbins - 1)
        counts = np.bincount(idx, minlength=nbins)
        nz = counts > 0
        if nz.sum() < 2:
            _panel_note(fig, cell, f"everyone ends at {measure(float(score[0]))} points" if len(score) else "no score")
            drawn = True
            continue
        centres = initial + (np.arange(nbins) + lo) * width
        trace = _bar(x=centres[nz], y=counts[nz] / max(len(score), 1), width=width, name=rd.run_id,
                       marker_color=_colour(i), hovertemplate="score %{x}: %{y:.4%}<extra>" + rd.run_id + "</extra>")
        if cell is None:
            fig.add_trace(trace)
        else:
            fig.add_trace(trace, row=cell[0], col=cell[1])
        drawn = True
    if not drawn:
        return _note(fig, "no scorer in these runs: no score")
    return fig


def tier_shares(runs: Runs) -> go.Figure:
    """Share of citizens in each tier of the first scorer over time (rebuilt from the ledger).

    Several runs: one panel per run (each regime has its own tiers), all on the common footing of the
    share of citizens."""
    rds = _runs(runs)
    many = len(rds) > 1
    if many:
        fig, cells = _small_multiples(rds, shared_yaxes=False)
        _style(fig, "Tier shares over time", 60 + 330 * _grid(len(rds))[0], showlegend=False)
    else:
        fig, cells = _fig("Tier shares over time (log scale: the small bottom tiers matter most)", 420,
                          legend_items=6), [None]
    fig.update_xaxes(title_text="day")
    fig.update_yaxes(tickformat="~%", type="log")
    drawn = False
    for rd, cell in zip(rds, cells, strict=True):
        h = rd.score_history
        if h is None or not len(h.days) or h.tier_names == [""]:
            if many:
                _panel_note(fig, cell, "no tiers")
            continue
        share = h.tier_counts / max(h.total, 1)
        for t, name in enumerate(h.tier_names):
            if not share[:, t].any():
                continue
            y = np.where(share[:, t] > 0, share[:, t], np.nan)  # an empty tier is a gap, not a drop to 0 on a log axis
            trace = _scatter(x=h.days, y=y, mode="lines", name=f"tier {name}", legendgroup=rd.run_id,
                               line=dict(color=_colour(t)),
                               hovertemplate=f"tier {name}, day %{{x}}: %{{y:.3%}}<extra>{rd.run_id}</extra>")
            if cell is None:
                fig.add_trace(trace)
            else:
                fig.add_trace(trace, row=cell[0], col=cell[1])
                last = int(np.nanargmax(np.isfinite(y)[::-1] == 1)) if np.isfinite(y).any() else 0
                fig.add_annotation(x=h.days[-1 - last], y=math.log10(y[-1 - last]), text=name, showarrow=False,
                                   xanchor="left", font=dict(size=10, color=_colour(t)), row=cell[0], col=cell[1])
            drawn = True
    if not drawn:
        return _note(fig, "no tiers in these runs")
    return fig


def list_sizes(runs: Runs) -> go.Figure:
    """Citizens on each list at the end of each day (daily.parquet), per 1,000 citizens.

    Several runs: one panel per run (each regime has its own lists), per 1,000 citizens throughout."""
    rds = _runs(runs)
    many = len(rds) > 1
    if many:
        fig, cells = _small_multiples(rds)
        _style(fig, "List sizes over time (per 1,000 citizens)", 60 + 330 * _grid(len(rds))[0], showlegend=False)
    else:
        fig, cells = _fig("List sizes over time (per 1,000 citizens)", 420, legend_items=6), [None]
    fig.update_xaxes(title_text="day")
    fig.update_yaxes(title_text="per 1,000 citizens" if not many else None, rangemode="tozero")
    drawn = False
    for rd, cell in zip(rds, cells, strict=True):
        if many and not rd.list_columns():
            _panel_note(fig, cell, "no lists")
        punitive = {p.split(":", 1)[1] if not rd.multi else p for p in rd.manifest.get("punitive_lists", [])}
        for li, (label, col) in enumerate(rd.list_columns()):
            y = rd.daily[col] * 1000.0 / rd.n
            trace = _scatter(
                x=rd.daily["day"], y=y, mode="lines", legendgroup=rd.run_id,
                name=f"{label}" + (" (punitive)" if label in punitive else ""),
                line=dict(color=_colour(li), dash=None if label in punitive else "dot"), customdata=rd.daily[col],
                hovertemplate=f"{label}, day %{{x}}: %{{customdata:,}} citizens<extra>{rd.run_id}</extra>")
            if cell is None:
                fig.add_trace(trace)
            else:
                fig.add_trace(trace, row=cell[0], col=cell[1])
                if len(y):
                    fig.add_annotation(x=rd.daily["day"][-1], y=y[-1], text=label, showarrow=False, xanchor="left",
                                       font=dict(size=10, color=_colour(li)), row=cell[0], col=cell[1])
            drawn = True
    if not drawn:
        return _note(fig, "no lists in these runs")
    return fig


def measure_counts(rd: RunData) -> list[tuple[str, str, bool, int]]:
    """(kind, measure, wrongful, count) from measures.parquet."""
    return [(k, m, bool(w), int(c)) for k, m, w, c in rd.sql(
        f"SELECT kind, measure, wrongful, count(*) FROM {rd.table('measures')} GROUP BY ALL ORDER BY ALL")]


def sanctions_rewards(runs: Runs) -> go.Figure:
    """Sanctions and rewards per 1,000 citizen-years by measure, split into rightful and wrongful.

    A measure is wrongful when it rests on false records (measures.wrongful). Bars are horizontal
    (measure names are long). One run: rightful and wrongful side by side in each row. Several runs:
    one bar per run and measure (rates per 1,000 citizen-years are a common footing), wrongful and
    rightful summed; the wrongful share is in the answer above and in the hover.
    """
    rds = _runs(runs)
    many = len(rds) > 1
    rates: dict[str, dict[str, dict[tuple[str, bool], float]]] = {"sanction": {}, "reward": {}}
    for rd in rds:
        for kind, m, wrong, count in measure_counts(rd):
            if kind in rates:
                cell = rates[kind].setdefault(_short(rd, m), {})
                cell[(rd.run_id, wrong)] = cell.get((rd.run_id, wrong), 0.0) + 1000.0 * count / rd.citizen_years
    if not any(rates.values()):
        return _note(_fig("Sanctions and rewards per 1,000 citizen-years"), "no sanctions or rewards in these runs")
    sizes = [max(len(rates[k]), 1) for k in ("sanction", "reward")]
    per_row = len(rds) if many else 2
    fig = _subplots(rows=2, cols=1, subplot_titles=("Sanctions", "Rewards"), row_heights=sizes,
                        vertical_spacing=0.1 if sum(sizes) > 8 else 0.2)
    height = 120 + 12 * sum(sizes) * per_row + 14 * sum(sizes)
    _style(fig, "Sanctions and rewards per 1,000 citizen-years: rightful and wrongful", max(height, 380),
           legend_items=len(rds) if many else 2, barmode="group")
    for row, kind in ((1, "sanction"), (2, "reward")):
        per = rates[kind]
        names = sorted(per, key=lambda m: sum(per[m].values()))  # largest at the top of a horizontal chart
        if not names:
            fig.add_annotation(text=f"no {kind}s applied", xref=f"x{row} domain", yref=f"y{row} domain", x=0.5,
                               y=0.5, showarrow=False)
            continue
        if many:
            for i, rd in enumerate(rds):
                total = [per[m].get((rd.run_id, False), 0.0) + per[m].get((rd.run_id, True), 0.0) for m in names]
                wrong = [per[m].get((rd.run_id, True), 0.0) for m in names]
                fig.add_trace(_bar(y=names, x=total, orientation="h", name=rd.run_id, marker_color=_colour(i),
                                     legendgroup=rd.run_id, showlegend=row == 1, customdata=wrong,
                                     hovertemplate="%{y}: %{x:.3f} per 1,000 (wrongful %{customdata:.3f})<extra>"
                                     + rd.run_id + "</extra>"), row=row, col=1)
            continue
        rd = rds[0]
        for wrong, what, colour in ((False, "rightful", RIGHTFUL), (True, "wrongful (false records)", WRONGFUL)):
            fig.add_trace(_bar(y=names, x=[per[m].get((rd.run_id, wrong), 0.0) for m in names], orientation="h",
                                 name=what, marker_color=colour, legendgroup=what, showlegend=row == 1,
                                 hovertemplate="%{y}: %{x:.3f} " + what.split()[0] + " per 1,000 citizen-years"
                                 "<extra></extra>"), row=row, col=1)
    fig.update_xaxes(title_text="per 1,000 citizen-years (log scale)", type="log")
    return fig


def behaviour_change(runs: Runs) -> go.Figure:
    """Change in each act against the paired baseline: antisocial acts (the claimed benefit) and
    lawful expression and movement (the chilling effect) in separate panels."""
    rds = _runs(runs)
    many = len(rds) > 1
    fig = _subplots(rows=1, cols=2, horizontal_spacing=0.3,
                        subplot_titles=("antisocial acts (benefit: fewer is the aim)",
                                        "lawful expression and movement (chilling: fewer is harm)"))
    n_acts = max(len(ANTISOCIAL), len(EXPRESSION)) + 1
    _style(fig, "Behaviour against the paired baseline (relative change in true events)",
           120 + 18 * n_acts * (len(rds) if many else 1), legend_items=len(rds) if many else 0, barmode="group")
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
            vals = [s.get(total_key)] + [change[e] for e in ev]
            fig.add_trace(_bar(y=y, x=_means(vals), orientation="h", name=rd.run_id, error_x=_error(vals),
                                 marker_color=_colour(i) if many else (BENEFIT if col == 1 else CHILLING),
                                 legendgroup=rd.run_id, showlegend=many and col == 1,
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
    fig = _fig("Network isolation: contacts lost (share of each group)", 420, legend_items=2 * len(rds),
               barmode="group")
    x = [str(k) for k in range(MAX_LOST_TIES)] + [f"{MAX_LOST_TIES}+"]
    for i, rd in enumerate(rds):
        lost = ties_lost(rd)
        for is_listed, label, opacity in ((True, "ever punitively listed", 1.0), (False, "never listed", 0.45)):
            k = lost[is_listed]
            if not k.sum():
                continue
            colour = _colour(i) if many else (WRONGFUL if is_listed else RIGHTFUL)
            fig.add_trace(_bar(x=x, y=k / k.sum(), name=_name(rd, many, label), marker_color=colour,
                                 opacity=opacity if many else 1.0, customdata=k, legendgroup=rd.run_id,
                                 hovertemplate="%{x} ties lost: %{y:.2%} (%{customdata:,} citizens)<extra>"
                                 + rd.run_id + "</extra>"))
    fig.update_xaxes(title_text="initial contacts lost (ties cut by avoidance or others)", type="category")
    fig.update_yaxes(title_text="share of the group (log scale)", type="log", tickformat="~%")
    return fig


def groups(runs: Runs, dimension: str = "income_decile") -> go.Figure:
    """Listed share and sanctions per 1,000 citizen-years by group (summary `by_group`).

    The four-fifths ratios are in the group tables and the answers, not in the legend."""
    dims = ("income_decile", "age_band", "urban", "sex")
    if dimension not in dims:
        raise ScorelabError(f"got {dimension!r}", key="dimension", allowed=", ".join(dims))
    rds = _runs(runs)
    many = len(rds) > 1
    fig = _subplots(rows=1, cols=2, subplot_titles=("ever on a punitive list", "sanctions per 1,000 citizen-years"),
                        horizontal_spacing=0.12)
    _style(fig, f"Outcomes by {dimension.replace('_', ' ')}", 400, legend_items=len(rds) if many else 0,
           barmode="group")
    for i, rd in enumerate(rds):
        rows = dig(rd.summary, "by_group", "groups", dimension) or {}
        order = _group_order(dimension, list(rows))
        for col, key in ((1, "listed_share"), (2, "sanctions_per_1000")):
            vals = [rows[g].get(key) for g in order]
            fig.add_trace(_bar(x=order, y=_means(vals), name=rd.run_id, error_y=_error(vals),
                                 marker_color=_colour(i) if many else (RIGHTFUL if col == 1 else "#76b7b2"),
                                 legendgroup=rd.run_id, showlegend=many and col == 1,
                                 customdata=[mean_of(rows[g].get("citizens")) for g in order],
                                 hovertemplate="%{x}: %{y:.4g} (%{customdata:,} citizens)<extra>" + rd.run_id
                                 + "</extra>"), row=1, col=col)
    fig.update_yaxes(tickformat=".2%", row=1, col=1)
    return fig


# The answers' charts, in the order of the questions, then the rest.
ANSWER_FIGURES = {"whom": whom, "wrongly": wrongful, "behaviour": benefit_and_chilling, "friendships": friendships,
                  "money": money, "children": children}
FIGURES = {
    **{f.__name__: f for f in ANSWER_FIGURES.values()},
    "score_over_time": score_over_time, "score_histogram": score_histogram, "tier_shares": tier_shares,
    "list_sizes": list_sizes, "sanctions_rewards": sanctions_rewards, "behaviour_change": behaviour_change,
    "network_isolation": network_isolation, "groups": groups,
}
