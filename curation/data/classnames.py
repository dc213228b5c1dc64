"""Class names read once, the same way for every layout: spaces trimmed, compared without
case ("Happy", "happy " and "HAPPY" are one class), with a report of what was merged and a
"did you mean" for a label close to a known class."""

from __future__ import annotations

import difflib
from collections import Counter
from collections.abc import Iterable, Sequence


def key(label: str) -> str:
    """What two spellings of one class have in common."""
    return " ".join(str(label).split()).casefold()


def normalise(labels: Iterable[str | None], known: Sequence[str] | None = None) -> tuple[dict[str, str], list[str]]:
    """(raw label -> class name, merge notes).

    A label matching a ``known`` class (ignoring case and spaces) takes the known spelling;
    other labels take the spelling most common among those of their class (ties: the first
    seen). Notes read "'happy ', 'HAPPY' and 'Happy' read as Happy: 3 rows"."""
    counts = Counter(str(x) for x in labels if x is not None and str(x).strip())
    groups: dict[str, list[str]] = {}
    for raw in counts:  # Counter keeps first-seen order
        groups.setdefault(key(raw), []).append(raw)
    known_by_key = {key(c): c for c in (known or ())}
    mapping, notes = {}, []
    for k, spellings in groups.items():
        name = known_by_key.get(k) or max(spellings, key=lambda s: (counts[s], -spellings.index(s))).strip()
        for s in spellings:
            mapping[s] = name
        if len(spellings) > 1 or spellings[0] != name:
            shown = sorted(spellings, key=lambda s: -counts[s])
            listed = ", ".join(repr(s) for s in shown[:-1]) + (" and " if len(shown) > 1 else "") + repr(shown[-1])
            n = sum(counts[s] for s in spellings)
            notes.append(f"{listed} read as {name}: {n} row{'s' if n != 1 else ''}")
    return mapping, notes


def did_you_mean(label: str, classes: Sequence[str]) -> str | None:
    """The known class closest to ``label`` when it is close (a typo), else None."""
    by_key = {key(c): c for c in classes}
    match = difflib.get_close_matches(key(label), list(by_key), n=1, cutoff=0.6)
    return by_key[match[0]] if match else None


def small_classes(labels: Iterable[str], minimum: int) -> dict[str, int]:
    """Classes with fewer than ``minimum`` rows (likely typos rather than classes): name -> rows."""
    counts = Counter(labels)
    return {c: n for c, n in counts.items() if n < minimum}
