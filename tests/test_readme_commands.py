"""Issue 14.4: the README's command lines work when copied, in order.

Every `scorelab` line of the README uses options its command has, never `--out` for a runs folder,
and every run it names (summary, explain, report and its `--vs`) was made by an earlier `run` line
into the same `--runs` folder. (The README's `report --vs ... --runs runs` line used to name a run
written to another folder.)
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import typer

from scorelab.cli import app

README = Path(__file__).parent.parent / "README.md"
READS_RUNS = ("summary", "explain", "stories", "report")


def readme_commands() -> list[list[str]]:
    lines = []
    for block in re.findall(r"```(?:sh|text)\n(.*?)```", README.read_text(), flags=re.S):
        for line in block.splitlines():
            line = line.removeprefix("$ ").strip()
            if line.startswith(".venv/bin/scorelab "):
                words = shlex.split(line.split(" #", 1)[0])
                if ">" in words:  # a redirection of the output, not an argument
                    words = words[:words.index(">")]
                lines.append(words[1:])
    return lines


def options_of(command) -> tuple[dict[str, bool], int]:
    """Option spelling -> whether it takes a value; and the number of positional arguments."""
    options, positional = {}, 0
    for p in command.params:
        if p.param_type_name == "option":
            for name in (*p.opts, *p.secondary_opts):
                options[name] = not p.is_flag
        else:
            positional += 1
    return options, positional


def test_readme_commands_work_in_order():
    group = typer.main.get_command(app)
    made: dict[str, set[str]] = {}
    commands = readme_commands()
    assert len(commands) >= 12
    for words in commands:
        name, rest = words[0], words[1:]
        command = group.commands[name]
        options, _ = options_of(command)
        given, args = {}, []
        i = 0
        while i < len(rest):
            if rest[i].startswith("-"):
                assert rest[i] in options, f"{name}: no option {rest[i]} ({' '.join(words)})"
                given.setdefault(rest[i], []).append(rest[i + 1] if options[rest[i]] else True)
                i += 2 if options[rest[i]] else 1
            else:
                args.append(rest[i])
                i += 1
        if name in ("run", "runs", *READS_RUNS) and name != "report":
            assert "--out" not in given and "-o" not in given, f"--out as a runs folder: {' '.join(words)}"
        runs = (given.get("--runs") or ["runs"])[0]
        if name == "run" and "--society" not in given:
            n = int((given.get("--citizens") or given.get("-n") or ["100000"])[0])
            d = int((given.get("--days") or given.get("-d") or ["365"])[0])
            s = int((given.get("--seed") or given.get("-s") or ["0"])[0])
            made.setdefault(runs, set()).add(f"{args[0]}-{n}x{d}-s{s}")
            for reps in given.get("--replications") or given.get("-r") or []:  # and the replication set
                made[runs].add(f"{args[0]}-{n}x{d}-s{s}-r{reps}")
        if name in READS_RUNS:
            for run_id in [args[0], *given.get("--vs", [])]:
                assert run_id in made.get(runs, set()), f"{run_id} is not in {runs} at: {' '.join(words)}"
