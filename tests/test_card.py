"""The regime card (issue 3): structured card, Markdown, HTML, flags, per-scorer data flow and the CLI."""

from __future__ import annotations

import json
from html.parser import HTMLParser

import pytest
import yaml
from typer.testing import CliRunner

from scorelab.cli import app
from scorelab.regime.card import SECTIONS, card_html, card_markdown, regime_card
from scorelab.regime.loader import load_regime, parse_regime

ALL_FLAGS = {"unrelated_context", "disproportionate", "guilt_by_association", "no_appeal", "not_the_actor"}
NAMED_KINDS = {"rule", "list", "measure"}

# S2-N6: two independent scorers that share no data.
FRAGMENTED = """
name: fragmented-test
title: Two independent scorers
description: A credit bureau and a no-fly authority that share no data.
topology: fragmented
references:
  fcra: {title: "US credit reporting (test)"}
scorers:
  - name: credit_bureau
    score: {source: fcra, initial: 700, min: 300, max: 850}
    channels:
      bank: {assumption: true, coverage: 1.0, misattribution: 0.001, delay_days: 30}
    rules:
      - {name: default, event: loan_default, points: -100, source: fcra}
    sanctions:
      - {name: loan_denial, domain: finance, gate: loan_application, when: {score_below: 620}, source: fcra}
  - name: no_fly_authority
    score: {assumption: true, initial: 0, min: -100, max: 0}
    channels:
      transport: {assumption: true, coverage: 1.0}
    rules:
      - {name: undesirable_travel, event: undesirable_trip, points: -20, assumption: true}
    lists:
      - {name: watch, kind: watch, assumption: true, entry: {records: [undesirable_trip]}}
    sanctions:
      - {name: flight_ban, domain: travel, gate: flight_purchase, when: {lists: [watch]}, assumption: true}
"""


@pytest.fixture(scope="module")
def unified() -> dict:
    return regime_card(load_regime("unified").regime)


@pytest.fixture(scope="module")
def fragmented() -> dict:
    return regime_card(parse_regime(FRAGMENTED, "<fragmented>"))


def flags_of(card: dict) -> dict[str, dict]:
    return {f["id"]: f for f in card["flags"]}


def test_unified_raises_every_flag_naming_rules_lists_or_measures(unified):
    flags = flags_of(unified)
    assert set(flags) == ALL_FLAGS
    rules = {r["name"] for r in unified["scorers"][0]["rules"]}
    lists = {x["name"] for x in unified["scorers"][0]["lists"]}
    measures = {m["name"] for k in ("sanctions", "rewards", "responses") for m in unified["scorers"][0][k]}
    for f in flags.values():
        assert f["items"], f["id"]
        for it in f["items"]:
            assert it["kind"] in NAMED_KINDS and it["name"] in {"rule": rules, "list": lists,
                                                                "measure": measures}[it["kind"]]
            assert it["reason"] and "\n" not in it["reason"]
    names = {fid: {it["name"] for it in f["items"]} for fid, f in flags.items()}
    assert "hiring_security" in names["unrelated_context"]      # online expression -> employment
    assert "flight_ban" in names["disproportionate"]            # expression -> refusal of travel
    assert {"college_bar", "school_bar"} <= names["not_the_actor"]  # S1-M6 children
    assert {"college_bar", "drunk_driving"} <= names["guilt_by_association"]  # S1-M6, S1-M7
    assert "gray" in names["no_appeal"]


def test_unified_related_sanctions_are_not_flagged_unrelated(unified):
    names = {it["name"] for it in flags_of(unified)["unrelated_context"]["items"]}
    assert "hiring_finance" not in names      # embezzlement (legal) -> finance jobs
    assert "hiring_criminal" not in names     # theft (legal) -> employment


def test_none_has_no_flags():
    card = regime_card(load_regime("none").regime)
    assert card["flags"] == []
    assert card["data_flow"] == []
    assert "No flags raised." in card_markdown(card)


def test_fragmented_credit_sanction_is_not_unrelated(fragmented):
    flags = flags_of(fragmented)
    unrelated = flags.get("unrelated_context", {"items": []})["items"]
    assert not [it for it in unrelated if it["scorer"] == "credit_bureau"]
    assert fragmented["by_event"]["loan_default"] == ["finance"]
    row = next(r for r in fragmented["data_flow"] if r["measure"] == "loan_denial")
    assert row["scorer"] == "credit_bureau"
    assert [e["event"] for e in row["events"]] == ["loan_default"]
    assert row["life_domains"] == ["finance"] and row["unrelated"] == []
    # the no-fly scorer still bans flights for lawful movement, with no appeal
    assert {it["name"] for it in flags["disproportionate"]["items"]} == {"flight_ban"}
    assert {it["name"] for it in flags["no_appeal"]["items"]} == {"watch"}
    assert "guilt_by_association" not in flags and "not_the_actor" not in flags


def test_same_rules_in_one_scorer_cross_domains(fragmented):
    """Per-scorer analysis: merge both scorers into one and travel records reach the loan decision."""
    data = yaml.safe_load(FRAGMENTED)
    a, b = data["scorers"]
    merged = {**a, "channels": {**a["channels"], **b["channels"]}, "rules": a["rules"] + b["rules"],
              "lists": b["lists"], "sanctions": a["sanctions"] + b["sanctions"]}
    data.update(name="merged-test", topology="unified", scorers=[merged])
    card = regime_card(parse_regime(yaml.safe_dump(data), "<merged>"))
    assert card["by_event"]["undesirable_trip"] == ["finance", "travel"]
    unrelated = {it["name"]: it for it in flags_of(card)["unrelated_context"]["items"]}
    assert "loan_denial" in unrelated and "travel" in unrelated["loan_denial"]["reason"]


def test_markdown_has_the_sections(unified):
    md = card_markdown(unified)
    for heading in SECTIONS:
        assert f"## {heading}" in md
    assert md.startswith("# Regime card:")
    assert "S2-N6" in md  # the per-scorer note


class _StrictParser(HTMLParser):
    VOID = {"meta", "br", "hr", "img", "link", "input", "col", "wbr"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.errors: list[str] = []
        self.attrs: list[tuple[str, str | None]] = []

    def handle_starttag(self, tag, attrs):
        self.attrs += attrs
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag):
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"unexpected </{tag}> with open {self.stack[-3:]}")
        else:
            self.stack.pop()


@pytest.mark.parametrize("name", ["unified", "none"])
def test_html_is_well_formed_and_self_contained(name):
    page = card_html(regime_card(load_regime(name).regime))
    p = _StrictParser()
    p.feed(page)
    p.close()
    assert p.errors == [] and p.stack == []
    assert not [a for a in p.attrs if a[0] == "src"]  # nothing is loaded; links are only followed when clicked
    hrefs = [v for k, v in p.attrs if k == "href"]
    assert all(h.startswith(("docs/MECHANISMS.md#", "docs/SOURCES.md#", "https://")) for h in hrefs), hrefs
    assert "@import" not in page and "<style>" in page


def test_card_cites_sources_and_links_mechanisms(unified):
    """`describe` prints each reference's citation (not a file name) and links ids and keys to the docs."""
    md = card_markdown(unified)
    refs = md.split("## References", 1)[1]
    assert "facts.md" not in refs and "shared/seeds" not in refs
    assert "Simina Mistreanu" in refs and "[reliability B]" in refs
    assert "[rongcheng-fp](docs/SOURCES.md#rongcheng-fp)" in refs
    assert "[S1-M7](docs/MECHANISMS.md#s1-m7): Guilt by association" in md
    assert unified["references"]["cnnic"]["citation"].startswith("China Internet Network Information Center")


def test_html_escapes_text():
    data = yaml.safe_load(FRAGMENTED)
    data["title"] = "<script>alert(1)</script> & co"
    page = card_html(regime_card(parse_regime(yaml.safe_dump(data), "<x>")))
    assert "<script>" not in page and "&lt;script&gt;" in page


def test_json_round_trips(unified):
    assert json.loads(json.dumps(unified)) == unified


def test_cli_describe():
    runner = CliRunner()
    result = runner.invoke(app, ["describe", "unified"])
    assert result.exit_code == 0, result.output
    assert "## Flags" in result.output and "unrelated_context" in result.output
    as_json = runner.invoke(app, ["describe", "none", "--json"])
    assert as_json.exit_code == 0 and json.loads(as_json.output)["flags"] == []
    bad = runner.invoke(app, ["describe", "nosuch"])
    assert bad.exit_code == 2
    text = " ".join(bad.output.split())
    assert "unknown regime 'nosuch'" in text and "unified" in text and "Traceback" not in text


def test_cli_describe_writes_html(tmp_path):
    out = tmp_path / "card.html"
    result = CliRunner().invoke(app, ["describe", "unified", "--html", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert out.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    both = CliRunner().invoke(app, ["describe", "unified", "--html", "--json"])
    assert both.exit_code == 2
