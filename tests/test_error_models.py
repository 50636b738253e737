"""Every system can err (issue 10): every channel of every preset except `none` has an error model
(misses, records on the wrong citizen, or invented records), each sourced or marked as an assumption,
and the bureaus' rates follow from the FTC Section 319 figures."""

from __future__ import annotations

import pytest

from scorelab.metrics.calibration import yearly_from_life
from scorelab.regime.loader import load_regime, preset_names

PRESETS = [p for p in preset_names() if p != "none"]


@pytest.mark.parametrize("preset", PRESETS)
def test_every_channel_can_err(preset):
    for s in load_regime(preset).regime.scorers:
        assert s.channels, f"{preset}:{s.name} has no channel"
        for name, ch in s.channels.items():
            assert ch.miss > 0 or ch.misattribution > 0 or ch.invented_per_million > 0, \
                f"{preset}:{s.name}:{name} cannot err"
            assert ch.source or ch.assumption


def test_bureau_files_err_at_the_ftc_rates():
    """The three bureaus' bank channels carry the rates derived from FTC Section 319 (docs/PRESETS.md)."""
    regime = load_regime("fragmented").regime
    bureaus = [s for s in regime.scorers if s.name.startswith("bureau_")]
    assert len(bureaus) == 3
    for s in bureaus:
        bank = s.channels["bank"]
        assert bank.source == "ftc-319" and bank.misattribution == 0.0011 and bank.invented_per_million == 19
        assert s.appeals is not None and s.appeals.delay_days == 30  # disputes and corrections
    assert "ftc-319" in regime.references
    # 21% over a file's seven-year life is 3.3% a year; 5.2% is 0.76% a year
    assert yearly_from_life(0.21) == pytest.approx(0.0331, abs=1e-4)
    assert yearly_from_life(0.052) == pytest.approx(0.0076, abs=1e-4)
