"""Integer allocation helpers: split a total exactly, and walk a stock from one year-end to the next."""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence


def allocate(total: int, weights: Mapping[str, float]) -> dict[str, int]:
    """Split an integer total by weights, exactly (largest remainder); keys with zero weight get 0."""
    keys = list(weights)
    w_sum = sum(weights.values())
    if total == 0 or w_sum <= 0:
        return dict.fromkeys(keys, 0)
    raw = {k: total * weights[k] / w_sum for k in keys}
    out = {k: int(raw[k]) for k in keys}
    rest = total - sum(out.values())
    for k in sorted(keys, key=lambda k: (raw[k] - out[k], k), reverse=True)[:rest]:
        out[k] += 1
    return out


def jitter(weights: Mapping[str, float], rng: random.Random, spread: float = 0.08) -> dict[str, float]:
    """Weights nudged at random by up to ``spread`` (relative), zero weights kept at zero."""
    return {k: (w * (1 + rng.uniform(-spread, spread)) if w > 0 else 0.0) for k, w in weights.items()}


def monthly_path(start: int, end: int, rng: random.Random, noise: float = 0.004) -> list[int]:
    """Month-end values for months 1..12 going from ``start`` (previous December) to exactly ``end``."""
    values = []
    for m in range(1, 12):
        trend = start + (end - start) * m / 12
        values.append(max(0, round(trend * (1 + rng.uniform(-noise, noise)))))
    values.append(end)
    return values


def seasonal_split(total: int, rng: random.Random, profile: Sequence[float] | None = None) -> list[int]:
    """Split a year's flow into 12 months following a seasonal profile with a little noise."""
    base = profile or (0.95, 0.85, 0.98, 1.0, 1.02, 1.0, 1.03, 1.04, 1.0, 1.02, 1.03, 1.08)
    weights = {f"{m:02d}": base[m - 1] * (1 + rng.uniform(-0.05, 0.05)) for m in range(1, 13)}
    split = allocate(total, weights)
    return [split[f"{m:02d}"] for m in range(1, 13)]
