"""Scenario tests: hand-made situations and what a regime must make of them (issue 3)."""
