"""scorelab: a laboratory that runs social credit regimes on synthetic societies.

It simulates synthetic citizens only (rows, no identities). See docs/ARCHITECTURE.md.
The Python API (scorelab.api) mirrors the command line; names are imported lazily so that
`import scorelab` stays cheap.
"""

__version__ = "0.1.0"

_API = ("build_society", "catalogue", "describe_run", "list_runs", "list_sets", "load_regime", "run", "summary",
        "explain", "stories", "scan_runs", "experiment", "analyse_experiment", "list_experiments")


def __getattr__(name: str):
    if name in _API:
        from scorelab import api

        return getattr(api, name)
    raise AttributeError(name)
