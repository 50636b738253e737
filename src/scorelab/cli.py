"""The command line. Each command is a thin layer over scorelab.api.

Errors in the user's input print one line naming the file, key and what is allowed, and exit
with status 2; never a traceback.
"""

from __future__ import annotations

import functools
import json
import sys
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from scorelab.errors import ScorelabError

app = typer.Typer(add_completion=False, no_args_is_help=True,
                  help="scorelab: run social credit regimes on synthetic societies (synthetic citizens only).")
out_console = Console()
err_console = Console(stderr=True, soft_wrap=True)  # an error stays on one line, whatever the width
RUNS_HELP = "folder that holds the runs and their catalogue"


def friendly(fn):
    """Turn scorelab's errors into one clear line and exit status 2."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except ScorelabError as exc:
            err_console.print(f"[bold red]error:[/] {exc}", markup=True, highlight=False)
            raise typer.Exit(2) from None
        except KeyboardInterrupt:
            err_console.print("interrupted: no run was written")
            raise typer.Exit(130) from None

    return wrapper


@app.command()
@friendly
def run(
    regime: str = typer.Argument(..., help="a preset name (see `scorelab regimes`) or a regime YAML file"),
    citizens: int = typer.Option(100_000, "--citizens", "-n", help="number of synthetic citizens"),
    days: int = typer.Option(365, "--days", "-d", help="days to simulate"),
    seed: int = typer.Option(0, "--seed", "-s", help="random seed (same seed, same run)"),
    baseline: str = typer.Option("none", "--baseline", help="regime of the paired baseline run"),
    no_baseline: bool = typer.Option(False, "--no-baseline", help="skip the paired baseline run"),
    out: Path = typer.Option(Path("runs"), "--out", "-o", help=RUNS_HELP),
    society: Path | None = typer.Option(None, "--society", help="a saved society folder to reuse"),
    ledger_cohort: float | None = typer.Option(None, "--ledger-cohort",
                                                  help="share of citizens whose ledger rows are kept"),
    events: str = typer.Option("notable", "--events", help="true events written: all, notable or none"),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="no progress bar"),
    set_: list[str] | None = typer.Option(None, "--set", metavar="PATH=VALUE",
                                          help="change one parameter of the regime or society (repeatable), "
                                               "e.g. scorers.state.channels.cameras.misattribution=0.01"),
) -> None:
    """Run a regime on a synthetic society and write a run folder."""
    from scorelab import api
    from scorelab.reform import parse_assignments

    overrides = parse_assignments(set_)
    with _progress(quiet) as tick:
        folder = api.run(regime, citizens=citizens, days=days, seed=seed,
                         baseline=None if no_baseline else baseline, out=out, society=society,
                         ledger_cohort=ledger_cohort, events=events, progress=tick, overrides=overrides)
    _print_summary(api.summary(folder))
    out_console.print(f"run written to [bold]{folder}[/]")


class _progress:
    """A rich progress bar per regime run (run and its baseline)."""

    def __init__(self, quiet: bool) -> None:
        self.quiet = quiet or not sys.stderr.isatty()
        self.bar = None
        self.tasks: dict[str, int] = {}

    def __enter__(self):
        if self.quiet:
            return None
        from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

        self.bar = Progress(TextColumn("{task.description}"), BarColumn(),
                            TextColumn("day {task.completed}/{task.total}"), TimeRemainingColumn(),
                            console=err_console, transient=True)
        self.bar.__enter__()
        return self.tick

    def tick(self, label: str, day: int, days: int) -> None:
        if label not in self.tasks:
            self.tasks[label] = self.bar.add_task(label, total=days)
        self.bar.update(self.tasks[label], completed=day)

    def __exit__(self, *exc) -> None:
        if self.bar is not None:
            self.bar.__exit__(*exc)


def _print_summary(s: dict) -> None:
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
    if s.get("mean_score") is not None:
        t.add_row("mean score", f"{s['mean_score']:.1f}")
    out_console.print(t)


@app.command()
@friendly
def runs(out: Path = typer.Option(Path("runs"), "--out", "-o", help=RUNS_HELP),
         as_json: bool = typer.Option(False, "--json", help="print JSON")) -> None:
    """List the runs in the catalogue (rebuilt from the run folders)."""
    from scorelab import api

    rows = api.list_runs(out)
    if as_json:
        print(json.dumps(rows, indent=2))
        return
    if not rows:
        out_console.print(f"no runs in {out}")
        return
    t = Table("run", "regime", "citizens", "days", "seed", "baseline", "created")
    for r in rows:
        t.add_row(r["run_id"], r["regime"], f"{r['citizens']:,}", str(r["days"]), str(r["seed"]),
                  r["baseline"] or "", r["created"] or "")
    out_console.print(t)


@app.command()
@friendly
def summary(run_: str = typer.Argument(..., metavar="RUN", help="run id or run folder"),
            out: Path = typer.Option(Path("runs"), "--out", "-o", help=RUNS_HELP),
            as_json: bool = typer.Option(False, "--json", help="print JSON (keys in docs/METRICS.md)")) -> None:
    """Print a run's headline measures."""
    from scorelab import api

    s = api.summary(run_, out)
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
            seed: int = typer.Option(0, "--seed", "-s", help="random seed"),
            out: Path = typer.Option(..., "--out", "-o", help="folder to write the society to")) -> None:
    """Draw a society and save it for reuse with `scorelab run --society`."""
    from scorelab import api
    from scorelab.society.model import save_society

    soc = api.build_society(citizens, seed)
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
            out: Path = typer.Option(Path("runs"), "--out", "-o", help=RUNS_HELP),
            as_json: bool = typer.Option(False, "--json", help="print the whole timeline as JSON")) -> None:
    """Explain one citizen: acts, records, points with their sources, lists and measures, day by day."""
    from scorelab import api

    e = api.explain(run_, citizen, out)
    if as_json:
        print(json.dumps(e, indent=2, default=str))
        return
    _print_account(e)


@app.command()
@friendly
def stories(run_: str = typer.Argument(..., metavar="RUN", help="run id or run folder"),
            out: Path = typer.Option(Path("runs"), "--out", "-o", help=RUNS_HELP),
            as_json: bool = typer.Option(False, "--json", help="print JSON")) -> None:
    """Pick illustrative citizens (false records, association, redemption, poverty trap, rewards) and explain them."""
    from scorelab import api

    picked = api.stories(run_, out)
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
    from scorelab.report import write_report

    path = write_report(run_, out, vs=vs or [], runs_dir=runs_dir, stories=not no_stories)
    out_console.print(f"report written to {path} ({path.stat().st_size / 1e6:.1f} MB)", markup=False, highlight=False)


@app.command()
@friendly
def serve(runs_dir: Path = typer.Option(Path("runs"), "--runs", help=RUNS_HELP),
          port: int = typer.Option(8000, "--port", help="port to listen on"),
          host: str = typer.Option("127.0.0.1", "--host", help="address to bind (loopback unless you mean it)"),
          ) -> None:
    """Serve the dashboard: runs, reports, comparisons, new runs with live progress, citizens, table downloads."""
    from scorelab.server import LOOPBACK
    from scorelab.server import serve as _serve

    if host not in LOOPBACK:
        err_console.print(f"warning: binding {host}: anyone who can reach it can start runs and read every table",
                          markup=False, highlight=False)
    out_console.print(f"scorelab dashboard on http://{host}:{port}/ (runs in {runs_dir}); Ctrl-C stops it",
                      markup=False, highlight=False)
    _serve(runs_dir, host=host, port=port)


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


class _experiment_progress:
    """A rich bar per stage (baselines, runs): done of total, failed, ETA; also on Ray (the driver updates it)."""

    def __init__(self, quiet: bool) -> None:
        self.quiet = quiet or not sys.stderr.isatty()
        self.bar = None
        self.tasks: dict[str, int] = {}

    def __enter__(self):
        if self.quiet:
            return None
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

        self.bar = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                            TextColumn("failed {task.fields[failed]}"), TimeRemainingColumn(),
                            console=err_console)
        self.bar.__enter__()
        return self.tick

    def tick(self, stage: str, done: int, failed: int, total: int) -> None:
        if stage not in self.tasks:
            self.tasks[stage] = self.bar.add_task(stage, total=total, failed=0)
        self.bar.update(self.tasks[stage], completed=done, failed=failed, total=total)

    def __exit__(self, *exc) -> None:
        if self.bar is not None:
            self.bar.__exit__(*exc)


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
    app()


if __name__ == "__main__":
    main()
