"""The citizen explorer: one citizen's account (scorelab.api.explain), with a chart of their score that
marks their list spells and sanctions, and which of them rested on false records (the `wrongful` column
of list_events.parquet and measures.parquet)."""

from __future__ import annotations

import math
from functools import lru_cache

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from scorelab.errors import ScorelabError
from scorelab.server.security import redact
from scorelab.server.state import BadInput, RunsFolder
from scorelab.server.templating import render

router = APIRouter(tags=["citizens"])
WRONG, RIGHT = "#b00020", "#4a6fa5"


@router.get("/runs/{run_id}/citizen", response_class=HTMLResponse)
def citizen_page(request: Request, run_id: str, typed: str = Query("", alias="id", max_length=200)) -> Response:
    """`?id=` is what a person types: parsed here, so that a wrong value gets a page that says what is allowed."""
    from scorelab import api
    from scorelab.ledger.explain import citizen_count

    runs: RunsFolder = request.app.state.dashboard.runs
    folder = runs.folder(run_id)
    try:
        n = citizen_count(folder)
    except (ScorelabError, OSError, pa.ArrowException):
        raise BadInput(f"run '{run_id}': its citizens table cannot be read (a damaged run folder?)", 422,
                       "Cannot read") from None
    ctx = dict(title=f"Citizens of {run_id}", run_id=run_id, n=n, typed=typed, notable=_notable(runs, run_id),
               e=None, error=None, facts=[], chart=None, marks=[])
    if not typed.strip():
        return render(request, "citizen.html", **ctx)
    try:
        c = int(typed.strip())
    except ValueError:
        ctx["error"] = f"citizen: got '{typed[:40]}', allowed: a citizen id from 0 to {n - 1}"
        return render(request, "citizen.html", status=400, **ctx)
    if not 0 <= c < n:
        ctx["error"] = f"no citizen {c} in this run (allowed: a citizen id from 0 to {n - 1})"
        return render(request, "citizen.html", status=404, **ctx)
    try:
        e = api.explain(folder, c)
    except (ScorelabError, OSError, pa.ArrowException) as exc:
        ctx["error"] = f"cannot explain citizen {c}: {redact(str(exc), runs.root)}"
        return render(request, "citizen.html", status=422, **ctx)
    days = int(e.get("days") or 0)
    marks = citizen_marks(runs, run_id, c, days)
    ctx.update(e=e, facts=_facts(e), marks=marks, chart=_chart(e, marks, days))
    return render(request, "citizen.html", **ctx)


@router.get("/assets/plotly.js")
def plotly_js() -> Response:
    """plotly.js from the installed plotly package: the dashboard fetches nothing from elsewhere."""
    return Response(_plotly_bytes(), media_type="application/javascript",
                    headers={"Cache-Control": "public, max-age=86400"})


@lru_cache(maxsize=1)
def _plotly_bytes() -> bytes:
    from plotly.offline import get_plotlyjs

    return get_plotlyjs().encode()


# ============================================================================ reading the run
def _read(runs: RunsFolder, run_id: str, file: str, columns: list[str], citizen: int | None = None
          ) -> pa.Table | None:
    """Columns of a run table that exist (missing columns and files are tolerated), opened without following
    links; with `citizen`, only that citizen's rows (filtered while reading)."""
    try:
        with runs.open_file(run_id, file) as fh:
            names = pq.ParquetFile(fh).schema_arrow.names
            cols = [c for c in columns if c in names]
            if citizen is None or "citizen" not in names:
                return pq.read_table(fh, columns=cols)
            return pq.read_table(fh, columns=cols, filters=[("citizen", "==", int(citizen))])
    except (BadInput, OSError, pa.ArrowException):
        return None


def _rows(t: pa.Table | None) -> list[dict]:
    return [] if t is None or "citizen" not in t.column_names else t.to_pylist()


def citizen_marks(runs: RunsFolder, run_id: str, citizen: int, days: int) -> list[dict]:
    """List spells (entry to exit, or to the end of the run) and sanctions, each with its `wrongful` flag."""
    out: list[dict] = []
    open_: dict[str, dict] = {}
    events = _rows(_read(runs, run_id, "list_events.parquet", ["day", "citizen", "list", "action", "wrongful"],
                         citizen))
    for r in sorted(events, key=lambda r: r.get("day") or 0):  # stable: file order within a day
        name = str(r.get("list"))
        if r.get("action") == "enter" and name not in open_:
            open_[name] = {"what": "on list", "name": name, "start": int(r["day"]), "end": None,
                           "wrongful": r.get("wrongful")}
        elif r.get("action") == "exit" and name in open_:
            spell = open_.pop(name)
            spell["end"] = int(r["day"])
            out.append(spell)
    out.extend(open_.values())
    measures = _rows(_read(runs, run_id, "measures.parquet", ["day", "citizen", "measure", "kind", "wrongful"],
                           citizen))
    for r in measures:
        if r.get("kind") == "sanction":
            out.append({"what": "sanction", "name": str(r.get("measure")), "start": int(r["day"]), "end": None,
                        "wrongful": r.get("wrongful")})
    out.sort(key=lambda m: (m["start"], m["what"], m["name"]))
    return out


def _notable(runs: RunsFolder, run_id: str, k: int = 8) -> list[int]:
    """A few citizens worth a look: the most sanctioned."""
    folder = runs.folder(run_id)
    try:
        mtime = (folder / "measures.parquet").lstat().st_mtime_ns
    except OSError:
        return []
    return list(_notable_cached(runs, run_id, mtime, k))


@lru_cache(maxsize=64)
def _notable_cached(runs: RunsFolder, run_id: str, mtime: int, k: int) -> tuple[int, ...]:
    t = _read(runs, run_id, "measures.parquet", ["citizen", "kind"])
    if t is None or t.num_rows == 0 or "kind" not in t.column_names or "citizen" not in t.column_names:
        return ()
    kind = t["kind"]
    if pa.types.is_dictionary(kind.type):
        kind = kind.cast(pa.string())
    counts = pc.value_counts(t.filter(pc.equal(kind, "sanction"))["citizen"])
    pairs = sorted((-int(x["counts"]), int(x["values"])) for x in counts.to_pylist())
    return tuple(c for _, c in pairs[:k])


# ============================================================================ the page's parts
def _facts(e: dict) -> list[tuple[str, str]]:
    def show(v: object) -> str:
        if isinstance(v, float):
            return f"{v:,.2f}"
        if isinstance(v, list | tuple):
            return ", ".join(map(str, v)) or "none"
        if isinstance(v, dict):
            return ", ".join(f"{k}: {show(x)}" for k, x in v.items()) or "none"
        return "" if v is None else str(v)

    items = (*(e.get("profile") or {}).items(), *(e.get("final") or {}).items())
    return [(str(k).replace("_", " "), show(v)) for k, v in items]


def _finite(x: object) -> float | None:
    return float(x) if isinstance(x, int | float) and math.isfinite(float(x)) else None


def _chart(e: dict, marks: list[dict], days: int) -> dict | None:
    """A Plotly figure as data: score steps per scorer above, list spells in a lane below, sanctions marked
    on the score line; red where a spell or sanction rested on false records."""
    lines: dict[str, tuple[list, list]] = {}
    for p in e.get("points") or []:
        after = _finite(p.get("score_after"))
        if after is None:
            continue
        start = round(after - (_finite(p.get("delta")) or 0.0), 4)
        xs, ys = lines.setdefault(str(p.get("scorer")), ([0], [start]))
        xs.append(int(p["day"]))
        ys.append(round(after, 4))
    last = max(days - 1, 0)
    for xs, ys in lines.values():  # flat to the last day
        xs.append(max(last, xs[-1]))
        ys.append(ys[-1])
    first = next(iter(lines.values()), None)
    initial = _finite((e.get("final") or {}).get("score"))

    def score_at(day: int) -> float | None:
        if first is None:
            return initial
        y = first[1][0]
        for x, v in zip(*first, strict=True):
            if x <= day:
                y = v
        return y

    data: list[dict] = [{"type": "scatter", "x": xs, "y": ys, "name": f"score ({s})" if len(lines) > 1 else "score",
                         "mode": "lines", "line": {"shape": "hv"}, "xaxis": "x", "yaxis": "y"}
                        for s, (xs, ys) in lines.items()]
    sanctions = [m for m in marks if m["what"] == "sanction"]
    for wrongful, name, colour, symbol in ((False, "sanction", RIGHT, "circle-open"),
                                           (True, "sanction on false records", WRONG, "x")):
        pts = [m for m in sanctions if bool(m["wrongful"]) == wrongful]
        if pts:
            data.append({"type": "scatter", "mode": "markers", "name": name, "x": [m["start"] for m in pts],
                         "y": [score_at(m["start"]) for m in pts], "text": [m["name"] for m in pts],
                         "marker": {"color": colour, "symbol": symbol, "size": 10}, "xaxis": "x", "yaxis": "y"})
    spells = [m for m in marks if m["what"] == "on list"]
    for wrongful, name, colour in ((False, "on a list", RIGHT), (True, "on a list on false records", WRONG)):
        xs, ys = [], []
        for m in spells:
            if bool(m["wrongful"]) == wrongful:
                xs += [m["start"], m["end"] if m["end"] is not None else last, None]
                ys += [m["name"], m["name"], None]
        if xs:
            data.append({"type": "scatter", "mode": "lines", "name": name, "x": xs, "y": ys,
                         "line": {"color": colour, "width": 12}, "xaxis": "x", "yaxis": "y2"})
    if not data:
        return None
    lanes = sorted({m["name"] for m in spells})
    layout = {"title": {"text": "Score, list spells and sanctions"}, "height": 420,
              "margin": {"l": 110, "r": 20, "t": 40, "b": 40}, "legend": {"orientation": "h", "y": -0.15},
              "xaxis": {"title": {"text": "day"}, "range": [0, max(days, 1)],
                        "anchor": "y2" if lanes else "y"},
              "yaxis": {"title": {"text": "score"}, "domain": [0.4 if lanes else 0.0, 1.0]},
              "yaxis2": {"domain": [0.0, 0.28], "type": "category", "categoryarray": lanes,
                         "visible": bool(lanes)}}
    return {"data": data, "layout": layout}
