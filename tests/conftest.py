"""Shared fixtures: the embedded plan, its sample evaluation and the seed text."""

from __future__ import annotations

import os
from pathlib import Path

# xlwings reads its licence when first imported: the remote engine (the button's test
# path) needs this set before any test imports xlwings. PolyForm Noncommercial terms
# cover use by a government institution.
os.environ.setdefault("XLWINGS_LICENSE_KEY", "noncommercial")

import pytest

from kpi_engine import evaluate, load_plan, sample_entries

REPO = Path(__file__).resolve().parents[1]
SEED = REPO.parent / "shared" / "seed" / "000_e82097005b831da2.txt"


@pytest.fixture(scope="session")
def plan():
    """The embedded default plan (臺中市政府秘書處 107)."""
    return load_plan()


@pytest.fixture(scope="session")
def seed_eval(plan):
    """The plan's sample data (106 上半年) evaluated against the 106 targets."""
    return evaluate(plan, sample_entries(plan), targets="previous", year=plan.sample.year)


@pytest.fixture(scope="session")
def seed_text() -> str:
    """The seed document, when the checkout sits beside shared/."""
    if not SEED.exists():
        pytest.skip(f"seed document not found at {SEED}")
    return SEED.read_text(encoding="utf-8")


@pytest.fixture(autouse=True)
def _own_click_markers(tmp_path, monkeypatch):
    """Each test its own double-click markers (workbook.buttons.common.once): tests on other
    workers click the same fixture files, and must not pass for one another's second click."""
    from workbook.buttons import common

    monkeypatch.setattr(common, "CLICKS_FOLDER", tmp_path / "click-markers")
