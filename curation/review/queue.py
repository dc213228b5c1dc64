"""The review queue as pure pandas: join scores, decisions and baselines into one table,
filter and sort it, count progress, and build the overview's tables.

No Streamlit here, so every rule the dashboard shows is unit-testable.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from curation.schema import VERDICTS

# Verdicts an annotator reviews ("hard-or-noisy": flagged, but the clips do not settle it).
FLAGGED = ("noisy", "hard-or-noisy", "hard")
KNOWN_VERDICTS = VERDICTS
# The expected value of a review is the chance it changes the label: noisy verdicts (clips agree
# on another class) first, undecided flags next, hard ones (label kept by default) last.
REVIEW_TIERS = {"noisy": 0, "hard-or-noisy": 1, "hard": 3, "clean": 4}
SORT_KEYS = ("review_value", "noise_score", "hardness")
REVIEW_STATES = ("all", "unreviewed", "reviewed")
# How a video's noisy verdict relates to a baseline's flag.
BASELINE_STATES = ("any", "agree", "disagree", "only ours", "only baseline")


def baseline_methods(baselines: pd.DataFrame | None) -> list[str]:
    """Methods with a ``<method>_flag`` column in baselines.parquet, in column order."""
    if baselines is None:
        return []
    return [c[: -len("_flag")] for c in baselines.columns if c.endswith("_flag")]


def default_baseline(methods: Sequence[str]) -> str | None:
    """cleanlab's confident learning when present, else any cleanlab method, else the first.

    curation.audit.baselines names cleanlab methods ``cl_<filter>`` (``cl_confident_learning``)."""
    if not methods:
        return None
    for m in ("cl_confident_learning", "cleanlab_confident_learning"):
        if m in methods:
            return m
    for m in methods:
        if m.startswith(("cl_", "cleanlab")):
            return m
    return methods[0]


def review_table(scores: pd.DataFrame, current: pd.DataFrame | None = None,
                 baselines: pd.DataFrame | None = None, *, baseline: str | None = None) -> pd.DataFrame:
    """One row per scored video: the scores plus its standing decision and a baseline's view.

    Added columns: ``flagged`` (verdict in FLAGGED), ``review_tier`` (REVIEW_TIERS; unknown
    verdicts 2), ``reviewed`` (a standing decision),
    ``decision`` (its action), ``final_label`` (new label, given label when undecided, NA
    when excluded), ``annotator``, ``version`` (0 when never decided), ``baseline_flag`` and
    ``baseline_score`` (NA without baselines; ``baseline`` picks the method, default cleanlab).
    """
    t = scores.reset_index(drop=True)
    t = t.assign(flagged=t["verdict"].isin(FLAGGED).to_numpy(),
                 review_tier=t["verdict"].map(REVIEW_TIERS).fillna(2).astype("int64").to_numpy())
    n = len(t)
    if current is not None and len(current):
        cur = current[["video_id", "action", "annotator", "version", "new_label"]].rename(
            columns={"action": "decision", "new_label": "_new"})
        t = t.merge(cur, on="video_id", how="left", sort=False, validate="one_to_one")
        t["version"] = t["version"].fillna(0).astype("int64")
        for c in ("decision", "annotator", "_new"):
            t[c] = t[c].astype("string")
    else:
        t = t.assign(decision=pd.array([pd.NA] * n, dtype="string"),
                     annotator=pd.array([pd.NA] * n, dtype="string"),
                     version=np.zeros(n, dtype="int64"), _new=pd.array([pd.NA] * n, dtype="string"))
    reviewed = t["decision"].notna().to_numpy()
    excluded = (t["decision"] == "exclude").fillna(False).to_numpy(dtype=bool)
    final = np.where(reviewed, t["_new"].to_numpy(dtype=object, na_value=None),
                     t["label"].to_numpy(dtype=object, na_value=None))
    final[excluded] = None
    t = t.drop(columns="_new").assign(reviewed=reviewed, final_label=pd.array(final, dtype="string"))
    method = baseline or default_baseline(baseline_methods(baselines))
    if baselines is not None and method is not None and f"{method}_flag" in baselines.columns:
        cols = {f"{method}_flag": "baseline_flag", f"{method}_score": "baseline_score"}
        b = baselines[["video_id", *[c for c in cols if c in baselines.columns]]].rename(columns=cols)
        t = t.merge(b, on="video_id", how="left", sort=False, validate="one_to_one")
        t["baseline_flag"] = t["baseline_flag"].astype("boolean")
        t["baseline_score"] = t["baseline_score"].astype("float64") if "baseline_score" in t else np.nan
    else:
        t = t.assign(baseline_flag=pd.array([pd.NA] * n, dtype="boolean"), baseline_score=np.nan)
    return t


@dataclass(frozen=True)
class QueueFilter:
    """What the queue shows; empty class tuples mean "all classes"."""

    verdicts: tuple[str, ...] = FLAGGED
    given: tuple[str, ...] = ()
    suggested: tuple[str, ...] = ()
    sort_by: str = "review_value"  # review_value: by REVIEW_TIERS, then noise_score descending
    score_range: tuple[float, float] = (0.0, 1.0)  # on score_field, inclusive
    reviewed: str = "all"  # one of REVIEW_STATES
    baseline: str = "any"  # one of BASELINE_STATES
    splits: tuple[str, ...] = field(default_factory=tuple)

    def __post_init__(self):
        if self.sort_by not in SORT_KEYS:
            raise ValueError(f"sort_by must be one of {SORT_KEYS}, got {self.sort_by!r}")
        if self.reviewed not in REVIEW_STATES:
            raise ValueError(f"reviewed must be one of {REVIEW_STATES}, got {self.reviewed!r}")
        if self.baseline not in BASELINE_STATES:
            raise ValueError(f"baseline must be one of {BASELINE_STATES}, got {self.baseline!r}")
        bad = [v for v in self.verdicts if v not in KNOWN_VERDICTS]
        if bad:
            raise ValueError(f"unknown verdict(s) {bad}; use {KNOWN_VERDICTS}")

    @property
    def score_field(self) -> str:
        """The column score_range applies to: noise_score unless sorting by hardness."""
        return "hardness" if self.sort_by == "hardness" else "noise_score"


def filter_queue(table: pd.DataFrame, f: QueueFilter = QueueFilter()) -> pd.DataFrame:
    """The rows of a review_table that pass ``f``, in review order (ties by video_id).

    The baseline filter compares our *noisy* verdict with the baseline's flag; without
    baselines (all NA) any choice but "any" yields nothing rather than guessing.
    """
    keep = np.array(table["verdict"].isin(f.verdicts), dtype=bool)
    if f.given:
        keep &= table["label"].isin(f.given).to_numpy()
    if f.suggested:
        keep &= table["suggested_label"].isin(f.suggested).to_numpy()
    if f.splits:
        keep &= table["split"].isin(f.splits).to_numpy()
    lo, hi = f.score_range
    s = table[f.score_field].to_numpy(dtype="float64", na_value=np.nan)
    keep &= (s >= lo) & (s <= hi)
    if f.reviewed == "reviewed":
        keep &= table["reviewed"].to_numpy()
    elif f.reviewed == "unreviewed":
        keep &= ~table["reviewed"].to_numpy()
    if f.baseline != "any":
        ours = (table["verdict"] == "noisy").to_numpy()
        theirs = table["baseline_flag"]
        known = theirs.notna().to_numpy()
        theirs = theirs.fillna(False).to_numpy(dtype=bool)
        rule = {
            "agree": ours == theirs,
            "disagree": ours != theirs,
            "only ours": ours & ~theirs,
            "only baseline": ~ours & theirs,
        }[f.baseline]
        keep &= known & rule
    out = table[keep]
    if f.sort_by == "review_value":
        tier = out["review_tier"] if "review_tier" in out else out["verdict"].map(REVIEW_TIERS).fillna(2)
        out = out.assign(_tier=tier.to_numpy())
        out = out.sort_values(["_tier", "noise_score", "video_id"], ascending=[True, False, True], kind="mergesort")
        return out.drop(columns="_tier")
    return out.sort_values([f.sort_by, "video_id"], ascending=[False, True], kind="mergesort")


def progress(table: pd.DataFrame) -> dict:
    """Review progress over the flagged videos (noisy or hard), plus decisions on others."""
    flagged = table["flagged"].to_numpy()
    reviewed = table["reviewed"].to_numpy()
    n_flagged = int(flagged.sum())
    n_done = int((flagged & reviewed).sum())
    return {
        "flagged": n_flagged,
        "reviewed": n_done,
        "remaining": n_flagged - n_done,
        "share": (n_done / n_flagged) if n_flagged else 1.0,
        "reviewed_unflagged": int((~flagged & reviewed).sum()),
    }


def proposed_label(table: pd.DataFrame) -> pd.Series:
    """The label each video's default decision leaves: the suggestion for noisy verdicts, the
    given label for every other (a hard video's suggestion is only its runner-up class)."""
    noisy = (table["verdict"] == "noisy").to_numpy()
    return pd.Series(np.where(noisy, table["suggested_label"].astype(str), table["label"].astype(str)),
                     index=table.index, name="proposed_label")


def confusion(table: pd.DataFrame, classes: Sequence[str], *, only_flagged: bool = False,
              column: str = "suggested_label") -> pd.DataFrame:
    """Counts of given label (rows) by ``column`` (suggested_label, or proposed_label for the
    label the default decisions leave), in class order."""
    t = table[table["flagged"]] if only_flagged else table
    other = proposed_label(t) if column == "proposed_label" else t[column].astype(str)
    m = pd.crosstab(t["label"].astype(str), other)
    m = m.reindex(index=list(classes), columns=list(classes), fill_value=0).fillna(0).astype("int64")
    m.index.name, m.columns.name = "given", "proposed" if column == "proposed_label" else "suggested"
    return m


def verdict_counts(table: pd.DataFrame, classes: Sequence[str]) -> pd.DataFrame:
    """Videos per given class (rows) and verdict (columns), with a total column."""
    m = pd.crosstab(table["label"].astype(str), table["verdict"].astype(str))
    m = m.reindex(index=list(classes), columns=list(VERDICTS), fill_value=0).fillna(0).astype("int64")
    m["total"] = m.sum(axis=1)
    m.index.name = "given"
    return m


def annotator_progress(current: pd.DataFrame, table: pd.DataFrame | None = None) -> pd.DataFrame:
    """Standing decisions per annotator and action, a total, and how many hit flagged videos."""
    from curation.review.decisions import ACTIONS

    actions = [a for a in ACTIONS if a != "undo"]
    if current is None or current.empty:
        return pd.DataFrame(columns=[*actions, "total", "flagged"], dtype="int64").rename_axis("annotator")
    m = pd.crosstab(current["annotator"], current["action"])
    m = m.reindex(columns=actions, fill_value=0).astype("int64")
    m["total"] = m.sum(axis=1)
    if table is not None:
        flagged_ids = set(table.loc[table["flagged"], "video_id"])
        hit = current[current["video_id"].isin(flagged_ids)].groupby("annotator").size()
        m["flagged"] = hit.reindex(m.index, fill_value=0).astype("int64")
    m.index.name = "annotator"
    return m.sort_values("total", ascending=False)


def neighbours(ids: Sequence[str], video_id: str) -> tuple[str | None, str | None]:
    """(previous, next) video ids around ``video_id`` in a queue order; None at the ends.

    A video no longer in the queue (e.g. just reviewed under an "unreviewed" filter) has
    no previous and the queue's first video as next."""
    ids = list(ids)
    if video_id not in ids:
        return None, (ids[0] if ids else None)
    i = ids.index(video_id)
    return (ids[i - 1] if i > 0 else None), (ids[i + 1] if i + 1 < len(ids) else None)


def next_after(old_ids: Sequence[str], new_ids: Sequence[str], video_id: str) -> str | None:
    """The video to show after deciding ``video_id``: the first video following it in the
    queue as it was (``old_ids``) that is still in the queue now (``new_ids``)."""
    still = set(new_ids)
    old = list(old_ids)
    start = old.index(video_id) + 1 if video_id in old else 0
    for v in old[start:]:
        if v in still and v != video_id:
            return v
    for v in new_ids:
        if v != video_id:
            return v
    return None


def review_pace(events: pd.DataFrame, *, annotator: str | None = None, now=None,
                idle_minutes: float = 10.0) -> dict | None:
    """How fast an annotator is deciding, from the decision log's timestamps.

    Looks at the annotator's latest working stretch (events no more than ``idle_minutes``
    apart) and returns ``decisions`` (undo excluded), ``minutes`` from its first to its last
    event, ``per_hour`` and ``active`` (the stretch is still going at ``now``); None until the
    stretch holds two decisions, since one decision says nothing about a rate."""
    if events is None or events.empty:
        return None
    ev = events if annotator is None else events[events["annotator"] == annotator]
    if ev.empty:
        return None
    t = pd.to_datetime(ev["time"], utc=True, format="ISO8601").sort_values()
    gap = pd.Timedelta(minutes=idle_minutes)
    breaks = np.flatnonzero(t.diff().to_numpy()[1:] > gap.to_timedelta64())
    start = int(breaks[-1]) + 1 if len(breaks) else 0
    stretch = ev.loc[t.index[start:]]
    times = t.iloc[start:]
    n = int((stretch["action"] != "undo").sum())
    seconds = (times.iloc[-1] - times.iloc[0]).total_seconds()
    if n < 2 or seconds <= 0:
        return None
    now = pd.Timestamp.now(tz="UTC") if now is None else pd.Timestamp(now)
    now = now.tz_localize("UTC") if now.tzinfo is None else now
    return {"decisions": n, "minutes": seconds / 60.0, "per_hour": (n - 1) * 3600.0 / seconds,
            "active": (now - times.iloc[-1]) <= gap}


def time_left(remaining: int, per_hour: float | None) -> float | None:
    """Seconds to review ``remaining`` videos at ``per_hour`` decisions an hour; None without
    a rate."""
    if per_hour is None or per_hour <= 0:
        return None
    return max(int(remaining), 0) * 3600.0 / per_hour


def format_duration(seconds: float | None) -> str:
    """'1 h 05 min', '12 min', '< 1 min'; an em dash when unknown."""
    if seconds is None:
        return "—"
    minutes = int(round(seconds / 60.0))
    if minutes < 1:
        return "< 1 min"
    h, m = divmod(minutes, 60)
    return f"{h} h {m:02d} min" if h else f"{m} min"
