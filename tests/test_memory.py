"""issue 12: a process of ours keeps the pages of freed arrays for the next ones (engine/memory.py),
so an array made again after one was freed costs no new page faults; with the setting off (or in a
process that did not ask), glibc gives the pages back and the kernel faults them in again."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys

import pytest

PROBE = """
import json, resource, sys
import numpy as np
from scorelab.engine.memory import keep_freed_memory
applied = keep_freed_memory() if sys.argv[1] == "keep" else False
a = np.ones(40_000_000)  # 320 MB, touched
del a
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
b = np.ones(40_000_000)  # the same size again
faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before
print(json.dumps({"applied": applied, "faults": faults}))
"""


def _probe(mode: str, **env) -> dict:
    out = subprocess.run([sys.executable, "-c", PROBE, mode], capture_output=True, text=True, check=True,
                         env={**os.environ, **env})
    return json.loads(out.stdout)


@pytest.mark.skipif(platform.system() != "Linux" or platform.libc_ver()[0] != "glibc", reason="glibc's malloc only")
def test_freed_pages_are_reused_only_when_asked():
    fewest = 40_000_000 * 8 // 2**21  # 152 faults if every page is a 2 MB huge page, 78,125 of 4 KB
    kept = _probe("keep")
    assert kept["applied"] and kept["faults"] < fewest // 10
    default = _probe("default")
    assert not default["applied"] and default["faults"] >= fewest
    off = _probe("keep", SCORELAB_KEEP_FREED_MEMORY="0")
    assert not off["applied"] and off["faults"] >= fewest
