"""Charts for the report, as PNG images any writer can embed."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Chart:
    """A rendered chart: PNG bytes and its pixel size (for the aspect ratio)."""

    title: str
    png: bytes
    width_px: int
    height_px: int
