"""A bench target judged on every repetition, not on a median alone: it is met only when each
repetition meets it (their range agrees), and it is shown as median [min-max]."""

from __future__ import annotations

import statistics
from collections.abc import Callable, Sequence

Judged = tuple[str, str, bool | None]  # (target, measured, met); met None: nothing to judge against


def judged(
    name: str, values: Sequence[float | None], ok: Callable[[float], bool] | None, unit: str = "", digits: int = 2
) -> Judged:
    """`values`: one per repetition (None: that repetition measured nothing, which fails the target)."""
    present = [v for v in values if v is not None]
    if not present:
        return name, "n/a", None
    median = round(statistics.median(present), digits)
    text = f"{median}{unit}"
    if len(values) > 1:
        text += f" [{round(min(present), digits)}-{round(max(present), digits)}]"
    met = None if ok is None else len(present) == len(values) and all(ok(v) for v in present)
    return name, text, met


def per_repetition_ratios(ours: Sequence[float | None], theirs: Sequence[float | None]) -> list[float | None]:
    """Repetition i of one row over repetition i of another: the rows ran interleaved, so each pair
    shared the machine's state of that moment."""
    return [a / b if a and b else None for a, b in zip(ours, theirs, strict=True)]
