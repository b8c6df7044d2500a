"""Human durations for `durationFormatted` (SPEC section 4): `45s`, `12m 30s`, `1h 05m`, `2d 03h`."""

from __future__ import annotations

import math

_MINUTE = 60
_HOUR = 60 * _MINUTE
_DAY = 24 * _HOUR


def format_duration(ms: int | float) -> str:
    """Milliseconds as the two largest units, floored to whole seconds; negative counts as zero."""
    if not math.isfinite(ms):
        # NaN or infinity is a bug upstream, not a duration: fail loudly instead of printing nonsense.
        raise ValueError(f"duration must be a finite number of milliseconds, got {ms!r}")
    seconds = max(0, int(ms // 1000))
    if seconds < _MINUTE:
        return f"{seconds}s"
    if seconds < _HOUR:
        return f"{seconds // _MINUTE}m {seconds % _MINUTE:02d}s"
    if seconds < _DAY:
        return f"{seconds // _HOUR}h {seconds % _HOUR // _MINUTE:02d}m"
    return f"{seconds // _DAY}d {seconds % _DAY // _HOUR:02d}h"
