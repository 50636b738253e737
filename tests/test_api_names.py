"""Every function of the Python API is reachable as `scorelab.<name>` (README: `scorelab.run`, ...)."""

from __future__ import annotations

import scorelab
from scorelab import api


def test_every_api_function_is_a_top_level_name():
    for name in api.__all__:
        assert getattr(scorelab, name) is getattr(api, name), name


def test_stories_is_reachable():
    assert scorelab.stories is api.stories
