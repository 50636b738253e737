"""Plotly figures of an experiment, offline: outcome against each parameter with interval bands,
sensitivity indices with error bars, and the PRIM trade-off with its chosen box.

`figures(folder, where=None)` is the entry point other views call (the report, the dashboard);
`write_html(folder, path)` writes them all as one self-contained HTML file.
"""

from __future__ import annotations

import html
from pathlib import Path

import numpy as np
import plotly.graph_objects as go
import plotly.io as pio

from scorelab.experiments.analysis import analyse

BLUE = "#1f77b4"
BAND = "rgba(31, 119, 180, 0.18)"


def figures(folder: str | Path, where: str | None = None, analysis: dict | None = None) -> list[tuple[str, go.Figure]]:
    """(title, figure) pairs for an experiment folder; the PRIM figures need a `where` condition."""
    r = analysis or analyse(folder, where=where)
    out: list[tuple[str, go.Figure]] = []
    for regime in r["regimes"]:
        label = Path(regime).stem if regime.endswith((".yaml", ".yml")) else regime
        rows = [p for p in r["per_point"] if p["regime"] == label]
        for outcome in r["outcomes"]:
            for param in r["parameters"]:
                fig = _outcome_vs_parameter(rows, param, outcome)
                if fig is not None:
                    out.append((f"{label}: {outcome} against {param}", fig))
    for regime, by_outcome in (r.get("indices") or {}).items():
        for outcome, idx in by_outcome.items():
            if "skipped" not in idx:
                out.append((f"{regime}: sensitivity of {outcome} ({r['method']})", _indices(idx, r["method"])))
    prim = r.get("prim")
    if prim and prim.get("boxes"):
        out.append((f"PRIM trade-off for {prim['condition']}", _tradeoff(prim)))
        out.append((f"PRIM box for {prim['condition']}", _box(prim)))
    return out


def _outcome_vs_parameter(rows: list[dict], param: str, outcome: str) -> go.Figure | None:
    pts = [(row["parameters"][param], row["outcomes"][outcome]) for row in rows
           if row["outcomes"][outcome]["mean"] is not None and isinstance(row["parameters"][param], (int, float))]
    if not pts:
        return None
    pts.sort(key=lambda t: t[0])
    x = np.array([p[0] for p in pts], float)
    mean = np.array([p[1]["mean"] for p in pts], float)
    lo = np.array([p[1]["ci95"][0] if p[1]["ci95"] else p[1]["mean"] for p in pts], float)
    hi = np.array([p[1]["ci95"][1] if p[1]["ci95"] else p[1]["mean"] for p in pts], float)
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=np.concatenate([x, x[::-1]]), y=np.concatenate([hi, lo[::-1]]), fill="toself",
                             mode="lines", fillcolor=BAND, line={"width": 0}, hoverinfo="skip", name="95% interval"))
    fig.add_trace(go.Scatter(x=x, y=mean, mode="markers+lines" if len(set(x)) < len(x) / 2 else "markers",
                             marker={"color": BLUE, "size": 6}, name="mean over replications",
                             error_y={"type": "data", "symmetric": False, "array": hi - mean,
                                      "arrayminus": mean - lo, "thickness": 1, "color": BLUE}))
    fig.update_layout(xaxis_title=param, yaxis_title=outcome, template="plotly_white", height=360,
                      margin={"l": 60, "r": 20, "t": 30, "b": 50})
    return fig


def _indices(idx: dict, method: str) -> go.Figure:
    names = list(idx)
    fig = go.Figure()
    if method == "morris":
        fig.add_trace(go.Bar(x=names, y=[idx[n]["mu_star"] for n in names], name="mu*",
                             error_y={"type": "data", "array": [idx[n]["mu_star_conf"] for n in names]}))
        fig.add_trace(go.Bar(x=names, y=[idx[n]["sigma"] for n in names], name="sigma"))
    else:
        for key, label in (("S1", "first-order S1"), ("ST", "total ST")):
            fig.add_trace(go.Bar(x=names, y=[idx[n].get(key) for n in names], name=label,
                                 error_y={"type": "data", "array": [idx[n].get(f"{key}_conf") for n in names]}))
    fig.update_layout(barmode="group", template="plotly_white", height=380, yaxis_title="index",
                      margin={"l": 60, "r": 20, "t": 30, "b": 120})
    return fig


def _tradeoff(prim: dict) -> go.Figure:
    t = prim["trajectory"]
    chosen = prim["boxes"][0]["step"]
    fig = go.Figure(go.Scatter(x=[s["coverage"] for s in t], y=[s["density"] for s in t], mode="markers",
                               marker={"color": [s["restricted"] for s in t], "colorscale": "Viridis", "size": 8,
                                       "colorbar": {"title": "restricted<br>dimensions"}},
                               text=[f"step {i}" for i in range(len(t))], name="peeling trajectory"))
    fig.add_trace(go.Scatter(x=[t[chosen]["coverage"]], y=[t[chosen]["density"]], mode="markers",
                             marker={"symbol": "circle-open", "size": 16, "color": "red", "line": {"width": 2}},
                             name="reported box"))
    fig.update_layout(xaxis_title="coverage", yaxis_title="density", template="plotly_white", height=380,
                      xaxis_range=[0, 1.05], yaxis_range=[0, 1.05])
    return fig


def _box(prim: dict) -> go.Figure:
    """The box's limits on each restricted parameter, as a share of the parameter's range."""
    b = prim["boxes"][0]
    fig = go.Figure()
    for param, lim in b["limits"].items():
        if "min" not in lim:
            continue
        lo, hi = b["ranges"][param]
        span = (hi - lo) or 1.0
        fig.add_trace(go.Scatter(x=[(lim["min"] - lo) / span, (lim["max"] - lo) / span], y=[param, param],
                                 mode="lines+markers+text", line={"width": 10, "color": BLUE}, showlegend=False,
                                 text=[f"{lim['min']:.3g}", f"{lim['max']:.3g}"], textposition="top center"))
    fig.update_layout(xaxis_title="share of the parameter's range", xaxis_range=[-0.05, 1.05],
                      template="plotly_white", height=120 + 60 * max(1, len(b["limits"])),
                      title=f"coverage {b['coverage']:.2f}, density {b['density']:.2f}")
    return fig


def write_html(folder: str | Path, path: str | Path, where: str | None = None, analysis: dict | None = None) -> Path:
    """All figures in one self-contained HTML file (Plotly's JavaScript inlined once; works offline)."""
    figs = figures(folder, where=where, analysis=analysis)
    parts = []
    for k, (title, fig) in enumerate(figs):
        parts.append(f"<h2>{html.escape(title)}</h2>")
        parts.append(pio.to_html(fig, full_html=False, include_plotlyjs=(k == 0), config={"displaylogo": False}))
    name = html.escape(Path(folder).name)
    doc = (f"<!doctype html><html><head><meta charset='utf-8'><title>experiment {name}</title>"
           "<style>body{font-family:sans-serif;max-width:1000px;margin:2em auto}</style></head><body>"
           f"<h1>experiment {name}</h1>" + ("".join(parts) or "<p>nothing to plot</p>") + "</body></html>")
    path = Path(path)
    path.write_text(doc, encoding="utf-8")
    return path
