"""scorelab from Python: run two regimes, read their summaries, query the tables with pandas, polars and
DuckDB, and draw a plot. A script rather than a notebook so the test suite can run it
(tests/test_examples.py); paste it into a notebook cell by cell if you prefer.

    .venv/bin/python examples/python_api.py                    # 5,000 citizens x 60 days, into ./example-output
    .venv/bin/python examples/python_api.py --citizens 100000 --days 365 --out my-output

Synthetic citizens only: every table's `citizen` is a row number.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import duckdb
import pandas as pd
import plotly.express as px
import polars as pl

import scorelab
from scorelab.report import benefit_and_chilling


def main() -> None:
    ap = argparse.ArgumentParser(description="scorelab's Python API with pandas, polars and DuckDB")
    ap.add_argument("--citizens", type=int, default=5_000)
    ap.add_argument("--days", type=int, default=60)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out", type=Path, default=Path("example-output"))
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    runs = args.out / "runs"

    # 1. Two regimes on the same society and seed; each run is paired with a `none` baseline.
    folders = {name: scorelab.run(name, citizens=args.citizens, days=args.days, seed=args.seed, runs=runs)
               for name in ("unified", "fragmented")}

    # 2. The summary: every key is defined in docs/METRICS.md.
    rows = []
    for name, folder in folders.items():
        s = scorelab.summary(folder)
        rows.append({"regime": name, "sanctions": s["sanctions_total"],
                     "wrongful share": s["wrongful_sanction_share"], "benefit": s.get("antisocial_change"),
                     "chilling": s.get("expression_change"),
                     "by association only": (s.get("network") or {}).get("collateral_share")})
    table = pd.DataFrame(rows).set_index("regime")
    print(table.to_string(float_format=lambda x: f"{x:.4f}"))

    # 3. pandas: sanctions by measure, rightful and wrongful (measures.parquet, one row per decision).
    measures = pd.read_parquet(folders["unified"] / "measures.parquet")
    sanctions = measures[measures["kind"] == "sanction"]
    by_measure = (sanctions.assign(wrongful=sanctions["wrongful"].map({False: "rightful", True: "wrongful"}))
                  .pivot_table(index="measure", columns="wrongful", aggfunc="size", fill_value=0, observed=True))
    by_measure = by_measure.loc[by_measure.sum(axis=1).sort_values(ascending=False).index]
    print("\nunified, sanctions by measure\n", by_measure.head(8).to_string(), sep="")

    # 4. polars: who was ever on a punitive list, by age band (citizens.parquet, one row per citizen).
    citizens = pl.read_parquet(folders["unified"] / "citizens.parquet")
    punitive = [c for c in citizens.columns if c in ("ever:black", "ever:gray", "ever:watch", "ever:no_fly")]
    band = (pl.when(pl.col("age") < 18).then(pl.lit("0-17")).when(pl.col("age") < 35).then(pl.lit("18-34"))
            .when(pl.col("age") < 60).then(pl.lit("35-59")).otherwise(pl.lit("60+")))
    listed = (citizens.with_columns(listed=pl.any_horizontal(punitive), band=band)
              .group_by("band").agg(citizens=pl.len(), listed=pl.col("listed").sum()).sort("band"))
    print("\nunified, ever on a punitive list by age band\n", listed, sep="")

    # 5. DuckDB: the rules that moved the most points (ledger.parquet, one row per score change).
    top = duckdb.sql(f"""SELECT rule, count(*) AS changes, round(sum(delta), 1) AS points
                         FROM '{folders["unified"] / "ledger.parquet"}' GROUP BY rule ORDER BY changes DESC LIMIT 8""")
    print("\nunified, the rules behind most score changes\n", top, sep="")

    # 6. One citizen, explained (the same account as `scorelab explain`): the most sanctioned one.
    most = duckdb.sql(f"""SELECT citizen FROM '{folders["unified"] / "measures.parquet"}' WHERE kind = 'sanction'
                          GROUP BY citizen ORDER BY count(*) DESC, citizen LIMIT 1""").fetchall()
    if most:
        e = scorelab.explain(folders["unified"], int(most[0][0]))
        print(f"\ncitizen {e['citizen']}:\n  " + "\n  ".join(e["account"][:6]))

    # 7. Plots: one of the report's own figures, and one of ours from the polars table.
    benefit_and_chilling(list(folders.values())).write_html(args.out / "benefit_and_chilling.html",
                                                            include_plotlyjs=True)
    fig = px.bar(listed.to_pandas(), x="band", y="listed", text="listed",
                 labels={"band": "age band", "listed": "citizens ever on a punitive list"})
    fig.write_html(args.out / "listed_by_age.html", include_plotlyjs=True)
    table.to_csv(args.out / "summary.csv")
    print(f"\nwritten: {args.out / 'summary.csv'}, {args.out / 'benefit_and_chilling.html'}, "
          f"{args.out / 'listed_by_age.html'}")


if __name__ == "__main__":
    main()
