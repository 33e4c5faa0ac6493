"""Write flow control's water marks, as asyncio's ``transports._FlowControlMixin`` sets them.

A transport calls its protocol's ``pause_writing()`` once its queued bytes go above the
high-water mark and ``resume_writing()`` once they fall to the low-water mark; this module
only turns what ``set_write_buffer_limits`` was given into the two marks.
"""

from __future__ import annotations

__all__ = ["DEFAULT_HIGH_WATER", "water_marks"]

DEFAULT_HIGH_WATER = 64 * 1024


def water_marks(
    high: int | None = None, low: int | None = None, default_high: int = DEFAULT_HIGH_WATER
) -> tuple[int, int]:
    """Return ``(high, low)``: ``default_high`` (64 KiB) and a quarter of high by default, 4 x low if only low is set."""
    if high is None:
        high = default_high if low is None else 4 * low
    if low is None:
        low = high // 4
    if not high >= low >= 0:
        raise ValueError(f"high ({high!r}) must be >= low ({low!r}) must be >= 0")
    return high, low
