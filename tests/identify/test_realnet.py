"""On realnet-dev (real autonomous systems with network-type labels from public sources, in
``../shared/data``; a development sample that is never shipped), classified the way a fully
set-up install classifies them: its sources written as upstream files, imported through the
importers, each AS classified from its number and name. Prints the figures (``-s``)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[2]


def bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_networks", ROOT / "bench" / "networks.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_a_fully_set_up_install_meets_the_targets_on_realnet_dev() -> None:
    networks = bench()
    if not networks.DEFAULT_DATA.exists():
        pytest.skip(f"the realnet-dev sample is not here ({networks.DEFAULT_DATA})")
    result = networks.run(networks.DEFAULT_DATA)
    networks.print_table(result)
    installed = result["installed"]
    for label in ("hosting", "isp", "mobile"):
        assert installed[label]["ases"] > 0
        assert installed[label]["blocked_by_count"] >= 99.0, label
        assert installed[label]["blocked_by_addresses"] >= 99.0, label
    for label in ("business", "education", "government", "keep"):
        assert installed[label]["ases"] > 0
        assert installed[label]["blocked_by_count"] <= 2.0, label
        assert installed[label]["blocked_by_addresses"] <= 2.0, label
    # The imports are what reaches the targets: the bundled rules alone do not.
    assert result["bundled"]["isp"]["blocked_by_count"] < 99.0
