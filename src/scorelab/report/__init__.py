"""Reports of runs: plotly figures for notebooks, and one self-contained HTML file per report.

    from scorelab.report import score_over_time, write_report
    score_over_time(["runs/unified-100000x365-s1", "runs/fragmented-100000x365-s1"]).show()
    write_report("runs/unified-100000x365-s1", "report.html")

Figures import plotly only; the HTML report embeds plotly.js once so that it works offline.
"""

from scorelab.report.figures import (
    FIGURES,
    behaviour_change,
    groups,
    inequality,
    list_sizes,
    lorenz,
    network_isolation,
    run_data,
    sanctions_rewards,
    score_histogram,
    score_over_time,
    tier_shares,
)
from scorelab.report.html import SECTIONS, build_report, write_report

__all__ = ["FIGURES", "SECTIONS", "behaviour_change", "build_report", "groups", "inequality", "list_sizes", "lorenz",
           "network_isolation", "run_data", "sanctions_rewards", "score_histogram", "score_over_time", "tier_shares",
           "write_report"]
