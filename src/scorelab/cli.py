"""The command line. Each command is a thin layer over scorelab.api.

Errors in the user's input print one line naming the file, key and what is allowed, and exit
with status 2; never a traceback. Options mean one thing everywhere: `--runs DIR` is the runs
folder of every command that reads or writes runs, `--out` the file or folder a command writes
(`--out` as the runs folder still works for one release, with a warning).
"""

from __future__ import annotations

import functools
import json
import os
import sys
from pathlib import Path

import typer
from rich import box
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from scorelab.errors import MAX_SEED, ScorelabError, one_line
from scorelab.server.state import DEFAULT_MAX_CELLS

app = typer.Typer(add_completion=False, no_args_is_help=True,
                  help="scorelab: run social credit regimes on synthetic societies (synthetic citizens only).")
out_console = Console()
err_console = Console(stderr=True, soft_wrap=True)  # an error stays on one line, whatever the width
RUNS_HELP = "folder that holds the runs and their catalogue (default: runs)"
OLD_OUT_HELP = "deprecated spelling of --runs (--out will name the file a command writes)"
SEED_HELP = f"random seed, 0 to {MAX_SEED} (same seed, same run)"
DEFAULT_RUNS = Path("runs")


def friendly(fn):
    """Turn scorelab's errors into one clear line and exit status 2."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except ScorelabError as exc:
            _error(str(exc))
        except OSError as exc:  # the disk is full, a folder vanished, a permission was refused
            where = f"{exc.filename}: " if exc.filename else ""
            _error(f"{where}{exc.strerror or exc}")
        except KeyboardInterrupt:
            err_console.print("interrupted: no run was written")
            raise typer.Exit(130) from None

    return wrapper


def _error(message: str):
    err_console.print(f"[bold red]error:[/] {escape(one_line(message))}", markup=True, highlight=False)
    raise typer.Exit(2) from None


def _note(message: str) -> None:
    err_console.print(one_line(message), markup=False, highlight=False)


def _runs_dir(runs_dir: Path | None, out: Path | None) -> Path:
    """--runs, or the deprecated --out (for one release, with a warning)."""
    if out is None:
        return runs_dir or DEFAULT_RUNS
    _note("warning: --out as the runs folder is deprecated and will name the file a command writes; use --runs")
    if runs_dir is not None and runs_dir != out:
        raise ScorelabError(f"--runs {runs_dir} and --out {out} name different runs folders", key="--runs",
                            allowed="one runs folder, given with --runs")
    return out


@app.command()
@friendly
def run(
    regime: str = typer.Argument(..., help="a preset name (see `scorelab regimes`) or a regime YAML file"),
    citizens: int = typer.Option(100_000, "--citizens", "-n", help="number of synthetic citizens"),
    days: int = typer.Option(365, "--days", "-d", help="days to simulate"),
    seed: int | None = typer.Option(None, "--seed", "-s", help=SEED_HELP + "; default: the society's seed, or 0"),
    baseline: str = typer.Option("none", "--baseline", help="regime of the paired baseline run"),
    no_baseline: bool = typer.Option(False, "--no-baseline", help="skip the paired baseline run"),
    runs_dir: Path | None = typer.Option(None, "--runs", help=RUNS_HELP),
    out: Path | None = typer.Option(None, "--out", "-o", help=OLD_OUT_HELP),
    society: Path | None = typer.Option(None, "--society", help="a saved society folder to reuse (and its seed)"),
    ledger_cohort: float | None = typer.Option(None, "--ledger-cohort",
                                                  help="share of citizens whose ledger rows are kept"),
    events: str = typer.Option("notable", "--events", help="true events written: all, notable or none"),
    force: bool = typer.Option(False, "--force", help="run again even if an identical run exists"),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="print only the run's path"),
    replications: int | None = typer.Option(None, "--replications", "-r",
                                            help="run seeds s..s+N-1 on one society and write a replication set"),
    set_: list[str] | None = typer.Option(None, "--set", metavar="PATH=VALUE",
                                          help="change one parameter of the regime, society or world (repeatable), "
                                               "e.g. scorers.state.channels.cameras.misattribution=0.01"),
    world: str | None = typer.Option(None, "--world", help="the world: census2020 (default), us2020 or a world "
                                                           "YAML file (docs/WORLD.md)"),
) -> None:
    """Run a regime on a synthetic society and write a run folder (an identical run is reused), or a
    replication set."""
    from scorelab import api
    from scorelab.reform import parse_assignments

    runs_dir = _runs_dir(runs_dir, out)
    notes: list[str] = []
    overrides = parse_assignments(set_)

    def notify(message: str) -> None:
        notes.append(message)
        if not quiet:
            _note(message)

    with _progress(quiet) as tick:
        folder = api.run(regime, citizens=citizens, days=days, seed=seed,
                         baseline=None if no_baseline else baseline, runs=runs_dir, society=society,
                         ledger_cohort=ledger_cohort, events=events, progress=tick, force=force, notify=notify,
                         replications=replications, overrides=overrides, world=world)
    if quiet:
        typer.echo(str(folder))
        return
    _print_summary(api.summary(folder))
    reused = any(n.startswith("reusing run") for n in notes)
    what = "replication set" if replications is not None else "run"
    out_console.print(f"{what} {'reused' if reused else 'written to'} {folder}", markup=False, highlight=False)


class _progress:
    """A rich progress bar per regime run (run and its baseline)."""

    def __init__(self, quiet: bool) -> None:
        self.quiet = quiet or not sys.stderr.isatty()
        self.bar = None
        self.tasks: dict[str, int] = {}

    def __enter__(self):
        if self.quiet:
            return None
        self.bar = self._bar()
        self.bar.__enter__()
        return self.tick

    def _bar(self):
        from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

        return Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("day {task.completed}/{task.total}"),
                        TimeRemainingColumn(), console=err_console, transient=True)

    def tick(self, label: str, day: int, days: int) -> None:
        if label not in self.tasks:
            self.tasks[label] = self.bar.add_task(label, total=days)
        self.bar.update(self.tasks[label], completed=day)

    def __exit__(self, *exc) -> None:
        if self.bar is not None:
            self.bar.__exit__(*exc)


def _print_summary(s: dict) -> None:
    if "set_id" in s:
        _print_set_summary(s)
        return
    t = Table(title=f"{s['regime']} on {s['citizens']:,} citizens for {s['days']} days (seed {s['seed']})",
              show_header=False)
    t.add_row("run", s["run_id"])
    t.add_row("wall time", f"{s['wall_seconds']:.1f} s ({s['agent_days_per_second']:,} agent-days/s)")
    t.add_row("true events", f"{s['events']:,}")
    t.add_row("false records kept", f"{s['false_records']:,}")
    if s.get("missed_offence_share") is not None:
        t.add_row("offences never recorded", f"{s['missed_offence_share']:.1%}")
    for name, share in s.get("listed_share", {}).items():
        t.add_row(f"ever listed: {name}", f"{share:.2%}")
    t.add_row("sanctions / rewards", f"{s['sanctions_total']:,} / {s['rewards_total']:,}")
    if s.get("wrongful_sanction_share") is not None:
        t.add_row("sanctions resting on a false record", f"{s['wrongful_sanction_share']:.1%}")
    if s.get("antisocial_change") is not None:
        t.add_row("antisocial acts vs baseline", f"{s['antisocial_change']:+.1%}")
        t.add_row("lawful expression vs baseline", f"{s['expression_change']:+.1%}")
    for name, sc in (s.get("scores") or {}).items():  # on its own range: scores of two regimes never share an axis
        lo, hi = sc["range"]
        below = f"; {sc['below_initial_tier_share']:.1%} below the starting tier" if "tiers" in sc else ""
        t.add_row(f"score {name}", f"mean {sc['mean']:.1f} on {lo:g}-{hi:g} (started {sc['initial']:g}){below}")
    out_console.print(t)


def _print_set_summary(s: dict) -> None:
    """A replication set: each headline measure as its mean and 95% interval over the runs."""
    t = Table(title=f"{s['regime']} on {s['citizens']:,} citizens for {s['days']} days: {s['replications']} "
                    f"replications (seeds {s['seeds'][0]}-{s['seeds'][-1]})", show_header=True)
    t.add_column("measure")
    t.add_column("mean [95% interval]")
    t.add_column("n")

    def row(label: str, m: dict | None, fmt: str) -> None:
        if not isinstance(m, dict) or "mean" not in m:
            return
        ci = m.get("ci95")
        interval = f" [{format(ci[0], fmt)}, {format(ci[1], fmt)}]" if ci else ""
        t.add_row(label, f"{format(m['mean'], fmt)}{interval}", str(m["n"]))

    row("true events", s.get("events"), ",.0f")
    row("false records kept", s.get("false_records"), ",.0f")
    row("offences never recorded", s.get("missed_offence_share"), ".1%")
    for name, share in (s.get("listed_share") or {}).items():
        row(f"ever listed: {name}", share, ".2%")
    row("sanctions", s.get("sanctions_total"), ",.0f")
    row("sanctions resting on a false record", s.get("wrongful_sanction_share"), ".2%")
    row("antisocial acts vs baseline", s.get("antisocial_change"), "+.2%")
    row("lawful expression vs baseline", s.get("expression_change"), "+.2%")
    row("adults kept under the poverty line by sanctions", s.get("poverty_trap_share"), ".3%")
    out_console.print(t)
    out_console.print(f"runs: {', '.join(s['runs'])}", markup=False, highlight=False)


@app.command()
@friendly
def runs(runs_dir: Path | None = typer.Option(None, "--runs", help=RUNS_HELP),
         out: Path | None = typer.Option(None, "--out", "-o", help=OLD_OUT_HELP),
         as_json: bool = typer.Option(False, "--json", help="print JSON (full ids, every column)"),
         wide: bool = typer.Option(False, "--wide", help="full ids and every column, whatever the width"),
         sort: str | None = typer.Option(None, "--sort", help="rank by a column of the catalogue, highest first "
                                         "(e.g. wrongful_sanction_share)")) -> None:
    """List the runs with their headline measures (the DuckDB catalogue, rebuilt from the run folders)."""
    from scorelab import api

    folder = _runs_dir(runs_dir, out)
    scan = api.scan_runs(folder, sort=sort)
    for name, problem in scan.damaged:
        _note(f"warning: {problem}" if problem.startswith(str(folder)) else f"warning: {name}: {problem}")
    if as_json:
        print(json.dumps(scan.rows, indent=2))
        return
    if not scan.rows:
        out_console.print(f"no runs in {folder}", markup=False, highlight=False)
        return
    _print_runs(scan.rows, wide=wide, ordered=sort is not None)


RUNS_WIDTH = 80
ID_WIDTH = 44


def _print_runs(rows: list[dict], wide: bool = False, ordered: bool = False) -> None:
    """The runs as a table that fits 80 columns: each run followed by its baseline (shown as
    `↳ baseline-<regime>`), long ids shortened in the middle; --wide for full ids and every column."""
    if not ordered:
        rows = _with_baselines_below(rows)
    t = Table(box=box.SIMPLE_HEAD, pad_edge=False, show_edge=False)
    t.add_column("run", no_wrap=True, overflow="fold" if wide else "ellipsis")
    if wide:
        for name in ("regime", "citizens", "days", "seed", "created"):
            t.add_column(name, no_wrap=True, justify="right" if name in ("citizens", "days", "seed") else "left")
    t.add_column("sanctions/1k", justify="right", no_wrap=True)
    t.add_column("wrongful", justify="right", no_wrap=True)
    t.add_column("listed", justify="right", no_wrap=True)
    if wide:
        for name in ("antisocial", "expression", "collateral"):
            t.add_column(name, justify="right", no_wrap=True)
    ids = {r["run_id"] for r in rows}
    for r in rows:
        run_id = r["run_id"]
        if not wide and not ordered and r.get("baseline_of") in ids and run_id.startswith(f"{r['baseline_of']}--"):
            label = "  ↳ " + run_id[len(r["baseline_of"]) + 2:]
        else:
            label = run_id
        cells = [label if wide else _middle(label, ID_WIDTH)]
        if wide:
            cells += [r.get("regime") or "", _count(r.get("citizens")), _count(r.get("days")),
                      _fmt(r.get("seed"), "{}"), (r.get("created") or "")[:16]]
        cells += [_fmt(r.get("sanctions_per_1000"), "{:,.1f}"), _fmt(r.get("wrongful_sanction_share"), "{:.2%}"),
                  _fmt(r.get("listed_share"), "{:.2%}")]
        if wide:
            cells += [_fmt(r.get("antisocial_change"), "{:+.1%}"), _fmt(r.get("expression_change"), "{:+.1%}"),
                      _fmt(r.get("collateral_share"), "{:.1%}")]
        t.add_row(*(escape(c) for c in cells))
    console = Console(width=1000 if wide else min(out_console.width, RUNS_WIDTH), file=out_console.file)
    console.print(t, crop=not wide)
    console.print("wrongful: share on a false record; listed: share ever on a punitive list",
                  style="dim", markup=False, highlight=False, crop=not wide)


def _with_baselines_below(rows: list[dict]) -> list[dict]:
    by_owner: dict[str, list[dict]] = {}
    ids = {r["run_id"] for r in rows}
    for r in rows:
        if r.get("baseline_of") in ids:
            by_owner.setdefault(r["baseline_of"], []).append(r)
    out = []
    for r in rows:
        if r.get("baseline_of") in ids:
            continue
        out.append(r)
        out.extend(by_owner.get(r["run_id"], []))
    return out


def _middle(text: str, width: int) -> str:
    """Shorten in the middle, keeping the regime at the start and the size and seed at the end."""
    if len(text) <= width:
        return text
    keep = width - 1
    return text[: keep - keep // 2] + "…" + text[len(text) - keep // 2:]


def _fmt(value, spec: str) -> str:
    return "" if value is None else spec.format(value)


def _count(value) -> str:
    return "" if value is None else f"{value:,}" if isinstance(value, int) and value >= 10_000 else str(value)


@app.command()
@friendly
def summary(run_: str = typer.Argument(..., metavar="RUN", help="run id or run folder, or a replication set"),
            runs_dir: Path | None = typer.Option(None, "--runs", help=RUNS_HELP),
            out: Path | None = typer.Option(None, "--out", "-o", help=OLD_OUT_HELP),
            as_json: bool = typer.Option(False, "--json", help="print JSON (keys in docs/METRICS.md)")) -> None:
    """Print a run's headline measures."""
    from scorelab import api

    s = api.summary(run_, _runs_dir(runs_dir, out))
    if as_json:
        print(json.dumps(s, indent=2, default=float))
    else:
        _print_summary(s)


@app.command()
@friendly
def regimes() -> None:
    """List the preset regimes."""
    from scorelab.regime.loader import load_regime, preset_names

    t = Table("preset", "topology", "description")
    for name in preset_names():
        r = load_regime(name).regime
        t.add_row(name, r.topology, r.title)
    out_console.print(t)


@app.command()
@friendly
def validate(file: Path = typer.Argument(..., help="a regime YAML file")) -> None:
    """Check a regime file; print what it defines or one clear error."""
    from scorelab.regime.compiled import compile_regime
    from scorelab.regime.loader import load_regime

    loaded = load_regime(str(file))
    compile_regime(loaded.regime, loaded.origin)
    r = loaded.regime
    n_rules = sum(len(s.rules) for s in r.scorers)
    n_lists = sum(len(s.lists) for s in r.scorers)
    n_measures = sum(len(s.sanctions) + len(s.rewards) + len(s.responses) for s in r.scorers)
    out_console.print(f"{file}: valid regime '{r.name}' ({r.topology}): {len(r.scorers)} scorer(s), "
                      f"{n_rules} rules, {n_lists} lists, {n_measures} sanctions, rewards and responses")


@app.command()
@friendly
def society(citizens: int = typer.Option(100_000, "--citizens", "-n", help="number of synthetic citizens"),
            seed: int = typer.Option(0, "--seed", "-s", help=SEED_HELP),
            out: Path = typer.Option(..., "--out", "-o", help="folder to write the society to"),
            world: str | None = typer.Option(None, "--world", help="draw from this world's marginals: census2020 "
                                                                   "(default), us2020 or a world file")) -> None:
    """Draw a society and save it for reuse with `scorelab run --society`."""
    from scorelab import api
    from scorelab.society.model import save_society

    soc = api.build_society(citizens, seed, world=world)
    save_society(soc, out)
    out_console.print(f"society of {soc.n:,} citizens written to {out}")


@app.command("test-regime")
@friendly
def test_regime(target: Path = typer.Argument(..., help="a scenario YAML file or a folder of them"),
                verbose: bool = typer.Option(False, "--verbose", "-v", help="show every check")) -> None:
    """Run scenario files (hand-made situations with expected outcomes) against their regimes."""
    from rich.markup import escape

    from scorelab.scenario.runner import run_scenarios

    results = run_scenarios(target)
    failed = 0
    for r in results:
        mark = "[green]PASS[/]" if r.ok else "[red]FAIL[/]"
        out_console.print(f"{mark} {escape(r.path)}: {escape(r.scenario.name)}")
        for c in r.checks:
            if verbose or not c.ok:
                sign = "ok " if c.ok else "BAD"
                out_console.print(f"    {sign} citizen {c.citizen} {c.what}: expected {c.expected}, got {c.actual}"
                                  + (f"  # {c.comment}" if c.comment and not c.ok else ""), markup=False,
                                  highlight=False)
        failed += not r.ok
    out_console.print(f"{len(results) - failed} passed, {failed} failed")
    if failed:
        raise typer.Exit(1)


@app.command()
@friendly
def explain(run_: str = typer.Argument(..., metavar="RUN", help="run id or run folder"),
            citizen: int = typer.Argument(..., help="citizen id (a row number, from 0)"),
            runs_dir: Path | None = typer.Option(None, "--runs", help=RUNS_HELP),
            out: Path | None = typer.Option(None, "--out", "-o", help=OLD_OUT_HELP),
            as_json: bool = typer.Option(False, "--json", help="print the whole timeline as JSON")) -> None:
    """Explain one citizen: acts, records, points with their sources, lists and measures, day by day."""
    from scorelab import api

    e = api.explain(run_, citizen, _runs_dir(runs_dir, out))
    if as_json:
        print(json.dumps(e, indent=2, default=str))
        return
    _print_account(e)


@app.command()
@friendly
def stories(run_: str = typer.Argument(..., metavar="RUN", help="run id or run folder"),
            runs_dir: Path | None = typer.Option(None, "--runs", help=RUNS_HELP),
            out: Path | None = typer.Option(None, "--out", "-o", help=OLD_OUT_HELP),
            as_json: bool = typer.Option(False, "--json", help="print JSON")) -> None:
    """Pick illustrative citizens (false records, association, redemption, poverty trap, rewards) and explain them."""
    from scorelab import api

    picked = api.stories(run_, _runs_dir(runs_dir, out))
    if as_json:
        print(json.dumps(picked, indent=2, default=str))
        return
    for s in picked:
        out_console.rule(f"{s['criterion']}: {s['description']}", style="bold")
        if s["citizen"] is None:
            out_console.print(s["note"], markup=False, highlight=False)
            continue
        out_console.print(f"citizen {s['citizen']}: {s['why']}", markup=False, highlight=False)
        _print_account(s["explanation"], notes=False)


def _print_account(e: dict, notes: bool = True) -> None:
    """The plain-language account, one sentence per line; sentences are data, never rich markup."""
    out_console.print(f"[bold]citizen {e['citizen']}[/] in run {e['run_id']} ({e['regime']}, {e['days']} days)",
                      highlight=False)
    for line in e["account"]:
        out_console.print(f"- {line}", markup=False, highlight=False)
    if notes:
        for note in e["notes"]:
            out_console.print(f"note: {note}", style="dim", markup=False, highlight=False)


@app.command()
@friendly
def describe(regime: str = typer.Argument(..., help="a preset name (see `scorelab regimes`) or a regime YAML file"),
             as_html: bool = typer.Option(False, "--html", help="HTML for the report (self-contained)"),
             as_json: bool = typer.Option(False, "--json", help="the structured card as JSON"),
             out: Path | None = typer.Option(None, "--out", "-o", help="write the card to this file instead")) -> None:
    """Print a regime card: what it observes, scores, sanctions; data flows; EU AI Act Art. 5(1)(c) flags.

    Flags cover S1-M6 (children barred), S1-M7 (association); the analysis is per scorer (S2-N6 topology).
    """
    from scorelab.regime.card import card_html, card_markdown, regime_card
    from scorelab.regime.loader import load_regime

    if as_html and as_json:
        raise ScorelabError("choose one output format", key="--html/--json", allowed="--html, --json or neither")
    card = regime_card(load_regime(regime).regime)
    text = json.dumps(card, indent=2) + "\n" if as_json else card_html(card) if as_html else card_markdown(card)
    if out is None:
        typer.echo(text, nl=False)
        return
    try:
        out.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise ScorelabError(f"cannot write: {exc.strerror or exc}", path=str(out)) from None
    out_console.print(f"regime card written to {out}", markup=False, highlight=False)


@app.command()
@friendly
def report(run_: str = typer.Argument(..., metavar="RUN", help="run id or run folder"),
           vs: list[str] | None = typer.Option(None, "--vs", help="another run to show on the same axes (repeatable)"),
           out: Path = typer.Option(Path("report.html"), "--out", "-o", help="the HTML file to write"),
           runs_dir: Path = typer.Option(Path("runs"), "--runs", help=RUNS_HELP),
           no_stories: bool = typer.Option(False, "--no-stories", help="leave out the citizen stories (faster)"),
           ) -> None:
    """Write one self-contained HTML report of a run (and of --vs runs side by side); it works offline."""
    from scorelab.api import damaged_run
    from scorelab.report import write_report

    with damaged_run(runs_dir):
        path = write_report(run_, out, vs=vs or [], runs_dir=runs_dir, stories=not no_stories)
    out_console.print(f"report written to {path} ({path.stat().st_size / 1e6:.1f} MB)", markup=False, highlight=False)


@app.command()
@friendly
def serve(runs_dir: Path = typer.Option(Path("runs"), "--runs", help=RUNS_HELP),
          port: int = typer.Option(8000, "--port", help="port to listen on"),
          host: str = typer.Option("127.0.0.1", "--host", help="address to bind (loopback unless you mean it)"),
          allow_host: list[str] | None = typer.Option(
              None, "--allow-host", metavar="NAME",
              help="a Host name to answer besides loopback names, e.g. behind a reverse proxy (repeatable; see "
                   "docs/DASHBOARD.md)"),
          max_cells: int = typer.Option(DEFAULT_MAX_CELLS, "--max-cells", metavar="CELLS",
                                        help="largest run the dashboard may start, in citizens x days"),
          ) -> None:
    """Serve the dashboard: runs, reports, comparisons, new runs with live progress, citizens, table downloads."""
    from scorelab.engine.memory import keep_freed_memory
    from scorelab.server import LOOPBACK, check_options, listen
    from scorelab.server import serve as _serve

    keep_freed_memory(False)  # the dashboard lives on: memory it frees goes back to the system
    check_options(port, allow_host or [], max_cells)
    if host not in LOOPBACK:
        err_console.print(f"warning: binding {host}: anyone who can reach it can start runs and read every table "
                          "(see docs/DASHBOARD.md: a reverse proxy with TLS and a login, and --allow-host)",
                          markup=False, highlight=False)
    listen(host, port).close()  # a busy port is one clear line, before anything is printed
    out_console.print(f"scorelab dashboard on http://{host}:{port}/ (runs in {runs_dir}); Ctrl-C stops it",
                      markup=False, highlight=False, soft_wrap=True)
    _serve(runs_dir, host=host, port=port, allow_hosts=allow_host or [], max_cells=max_cells)


@app.command("new")
@friendly
def new(name: str = typer.Argument(..., help="the new regime's name (lower-case letters, digits, '-' and '_')"),
        preset: str = typer.Option(..., "--from", help="the preset to start from (see `scorelab regimes`)"),
        out: Path | None = typer.Option(None, "--out", "-o", help="the file to write (default: NAME.yaml)"),
        ) -> None:
    """Start a regime of your own from a preset: a commented copy, with its name set, that validates."""
    from scorelab.regime.starter import write_new_regime

    path = write_new_regime(name, preset, out)
    out_console.print(f"regime '{name}' (from the {preset} preset) written to {path}; next: scorelab validate "
                      f"{path}, then docs/TUTORIAL.md", markup=False, highlight=False)


@app.command()
@friendly
def experiment(
    file: Path = typer.Argument(..., help="an experiment YAML file (docs/EXPERIMENTS.md)"),
    out: Path = typer.Option(Path("experiments"), "--out", "-o", help="folder that holds the experiments"),
    executor: str = typer.Option("local", "--executor", help="local (a process pool) or ray"),
    address: str | None = typer.Option(None, "--address", help="join this Ray cluster (host:port) instead of "
                                                               "starting a local Ray"),
    workers: int | None = typer.Option(None, "--workers", "-w", help="parallel runs (default: the CPUs)"),
    keep_runs: bool = typer.Option(False, "--keep-runs", help="keep every run folder under DIR/<name>/runs"),
    set_: list[str] | None = typer.Option(None, "--set", metavar="PATH=VALUE",
                                          help="a fixed override for every run (repeatable), added to the "
                                               "file's `set`"),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="no progress bar"),
) -> None:
    """Run every point x replication of an experiment and write DIR/<name>/results.parquet (resumable)."""
    from scorelab.experiments.runner import run_loaded, stored_keys
    from scorelab.experiments.spec import load_experiment, parse_experiment
    from scorelab.reform import parse_assignments

    exp, text = load_experiment(file)
    if set_:
        import yaml

        data = yaml.safe_load(text)
        data["set"] = {**(data.get("set") or {}), **parse_assignments(set_)}
        text = yaml.safe_dump(data, sort_keys=False)
        exp = parse_experiment(text, str(file), base=file.parent)
    try:
        with _experiment_progress(quiet) as tick:
            folder = run_loaded(exp, text, out, executor=executor, workers=workers, address=address,
                                keep_runs=keep_runs, progress=tick)
    except KeyboardInterrupt:
        k = len(stored_keys(out / exp.name))
        err_console.print(f"interrupted: {k} finished runs are stored in {out / exp.name}; run the same command "
                          "again to resume", markup=False, highlight=False)
        raise typer.Exit(130) from None
    out_console.print(f"results written to {folder / 'results.parquet'}; next: scorelab analyse {folder}",
                      markup=False, highlight=False)


class _experiment_progress(_progress):
    """A rich bar per stage (baselines, runs): done of total, failed, ETA; also on Ray (the driver updates it)."""

    def _bar(self):
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

        return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                        TextColumn("failed {task.fields[failed]}"), TimeRemainingColumn(), console=err_console)

    def tick(self, stage: str, done: int, failed: int, total: int) -> None:  # type: ignore[override]
        if stage not in self.tasks:
            self.tasks[stage] = self.bar.add_task(stage, total=total, failed=0)
        self.bar.update(self.tasks[stage], completed=done, failed=failed, total=total)


@app.command()
@friendly
def experiments(out: Path = typer.Option(Path("experiments"), "--out", "-o", help="folder that holds the experiments"),
                as_json: bool = typer.Option(False, "--json", help="print JSON")) -> None:
    """List the experiments in a folder (rebuilds its DuckDB catalogue, experiments.duckdb)."""
    from scorelab.experiments.catalogue import refresh_experiments

    rows = refresh_experiments(out) if out.is_dir() else []
    if as_json:
        print(json.dumps(rows, indent=2))
        return
    if not rows:
        out_console.print(f"no experiments in {out}", markup=False, highlight=False)
        return
    t = Table("experiment", "regimes", "sampler", "runs", "size", "status", "created")
    for r in rows:
        t.add_row(r["name"], r["regimes"], r["method"] or "", str(r["runs"]), f"{r['citizens']:,} x {r['days']}",
                  r["status"] or "", r["created"] or "")
    out_console.print(t)


@app.command()
@friendly
def analyse(folder: Path = typer.Argument(..., help="an experiment folder, DIR/<name>"),
            where: str | None = typer.Option(None, "--where", help="scenario discovery: PRIM boxes for the runs "
                                             "where this holds, e.g. \"wrongful_sanction_share > 0.01\""),
            as_json: bool = typer.Option(False, "--json", help="print JSON"),
            html: Path | None = typer.Option(None, "--html", help="also write the plots to this HTML file "
                                                                  "(self-contained, offline)")) -> None:
    """Summarise an experiment: per-point means with 95% intervals, SALib indices, PRIM boxes."""
    from scorelab.experiments.analysis import analyse as _analyse
    from scorelab.experiments.analysis import print_analysis

    result = _analyse(folder, where=where)
    if html is not None:
        from scorelab.experiments.plots import write_html

        write_html(folder, html, where=where, analysis=result)
    if as_json:
        print(json.dumps(result, indent=2, default=_json_default))
    else:
        print_analysis(result, out_console)
    if html is not None:
        err_console.print(f"plots written to {html}", markup=False, highlight=False)


def _json_default(x):
    import math

    if isinstance(x, float) and not math.isfinite(x):
        return None
    if hasattr(x, "item"):
        return x.item()
    return str(x)


def main() -> None:
    """The console script: usage errors as one line (status 2), and never a traceback."""
    from scorelab.engine.forked import allow_in_this_process
    from scorelab.engine.memory import keep_freed_memory

    allow_in_this_process()  # this process runs scorelab alone: a baseline may be made beside its run
    keep_freed_memory()  # and ends when its command is done: freed arrays' pages are kept for reuse
    try:
        code = app(standalone_mode=False)
    except Exception as exc:
        code = _fail(exc)
    sys.exit(code if isinstance(code, int) else 0)


def _fail(exc: Exception) -> int:
    """One line for an exception that reached the top; click's classes are known by name (typer
    may vendor its own click)."""
    kinds = {k.__name__ for k in type(exc).__mro__}
    ctx = getattr(exc, "ctx", None)
    if "NoArgsIsHelpError" in kinds:
        typer.echo(ctx.get_help() if ctx else "see scorelab --help", err=True)
        return 2
    if "UsageError" in kinds or "ClickException" in kinds:
        hint = f" (see `{ctx.command_path} --help`)" if ctx is not None and "UsageError" in kinds else ""
        _note(f"error: {exc.format_message()}{hint}")
        return getattr(exc, "exit_code", 2) or 2
    if "Abort" in kinds:
        _note("interrupted")
        return 130
    if os.environ.get("SCORELAB_DEBUG"):
        raise exc
    _note(f"error: internal error, a bug in scorelab: {type(exc).__name__}: {str(exc)[:300]} "
          "(SCORELAB_DEBUG=1 shows the traceback)")
    return 1


if __name__ == "__main__":
    main()
