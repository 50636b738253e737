"""Reports of runs: plotly figures for notebooks, and one self-contained HTML file per report.

    from scorelab.report import score_over_time, write_report
    score_over_time(["runs/unified-100000x365-s1", "runs/fragmented-100000x365-s1"]).show()
    write_report("runs/unified-100000x365-s1", "report.html")

Figures import plotly only; the HTML report embeds plotly.js once so that it works offline. The
templates, citations and mechanism texts (report.render, report.sources) are also what the regime
card and `explain` render with, so names are imported lazily: `scorelab describe` never loads plotly.
"""

from __future__ import annotations

_FIGURES = ("FIGURES", "behaviour_change", "benefit_and_chilling", "children", "friendships", "groups",
            "list_sizes", "money", "network_isolation", "run_data", "sanctions_rewards", "score_histogram",
            "score_over_time", "tier_shares", "whom", "wrongful")
_HTML = ("SECTIONS", "build_report", "write_report")

__all__ = sorted(_FIGURES + _HTML)


def __getattr__(name: str):
    if name in _FIGURES:
        from scorelab.report import figures

        return getattr(figures, name)
    if name in _HTML:
        from scorelab.report import html

        return getattr(html, name)
    raise AttributeError(name)
