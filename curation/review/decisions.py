"""The annotators' decision log: an append-only table of events in SQLite (WAL mode).

Why SQLite: embedded, durable on a kill (every ``record`` is one committed transaction),
and safe for several annotators writing at once (one writer at a time, readers never
blocked). Nothing is ever updated or deleted (triggers refuse it); the *current* decision
per video is derived from the events.

Versions: each video has a version, the number of events recorded for it (0 = never
decided). An annotator's write carries the version they saw; if another event landed in
between, ``record`` raises :class:`ConflictError` naming who decided what, and writes
nothing. Undo is an event too: it revokes the video's latest standing decision.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import sqlite3
from collections.abc import Iterable, Mapping
from datetime import datetime, timezone
from pathlib import Path

import pandas as pd

from curation.errors import CurationError

log = logging.getLogger(__name__)

ACTIONS = ("accept", "relabel", "keep", "exclude", "undo")
ACTION_TITLES = {
    "accept": "accept suggestion",
    "relabel": "relabel",
    "keep": "keep as hard",
    "exclude": "exclude",
    "undo": "undo",
}
# The longer names, accepted on input and stored as the short ones.
ACTION_ALIASES = {"accept-suggestion": "accept", "keep-as-hard": "keep"}
CURRENT_COLUMNS = ["video_id", "action", "old_label", "new_label", "annotator", "time", "note", "version"]
EVENT_COLUMNS = ["event_id", "video_id", "action", "old_label", "new_label", "annotator",
                 "time", "note", "scores", "seen_version", "version"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS events (
    event_id     INTEGER PRIMARY KEY AUTOINCREMENT,
    video_id     TEXT NOT NULL,
    action       TEXT NOT NULL CHECK (action IN ('accept','relabel','keep','exclude','undo')),
    old_label    TEXT,
    new_label    TEXT,
    annotator    TEXT NOT NULL,
    time         TEXT NOT NULL,
    note         TEXT NOT NULL DEFAULT '',
    scores       TEXT NOT NULL DEFAULT '{}',
    seen_version INTEGER NOT NULL,
    version      INTEGER NOT NULL,
    UNIQUE (video_id, version)
);
CREATE INDEX IF NOT EXISTS events_video ON events (video_id, version);
CREATE TRIGGER IF NOT EXISTS events_no_update BEFORE UPDATE ON events
BEGIN SELECT RAISE(ABORT, 'the decision log is append-only: events cannot be updated'); END;
CREATE TRIGGER IF NOT EXISTS events_no_delete BEFORE DELETE ON events
BEGIN SELECT RAISE(ABORT, 'the decision log is append-only: events cannot be deleted'); END;
"""


class DecisionError(CurationError):
    """A decision that cannot be recorded (unknown video, unknown class, bad action)."""


class ConflictError(CurationError):
    """Another annotator decided the video after this one loaded it; nothing was written.

    ``intervening`` lists the events (dicts) recorded since ``seen_version``."""

    def __init__(self, message: str, *, video_id: str, seen_version: int, current_version: int,
                 intervening: list[dict]):
        super().__init__(message)
        self.video_id = video_id
        self.seen_version = seen_version
        self.current_version = current_version
        self.intervening = intervening


class DecisionLog:
    """The decision log of one run (normally RUN/review.sqlite).

    ``labels`` maps video_id -> given label (the manifest's); with it, decisions for unknown
    videos are refused and ``old_label`` is filled. ``classes`` lets relabels to unknown
    classes be refused. ``suggestions`` maps video_id -> suggested label (for ``accept``).
    Use :meth:`for_run` to take all three from a run directory.
    """

    def __init__(self, path, *, labels: Mapping[str, str] | None = None,
                 classes: Iterable[str] | None = None,
                 suggestions: Mapping[str, str] | None = None, timeout: float = 30.0):
        self.path = Path(path)
        self.labels = dict(labels) if labels is not None else None
        self.classes = list(classes) if classes is not None else None
        self.suggestions = dict(suggestions) if suggestions is not None else {}
        self.timeout = timeout
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as con:
            mode = con.execute("PRAGMA journal_mode=WAL").fetchone()[0]
            if mode.lower() != "wal":
                raise CurationError(f"{self.path}: SQLite refused WAL mode (got {mode!r}); "
                                    "put the run directory on a local disk")
            con.executescript(_SCHEMA)

    @classmethod
    def for_run(cls, run_dir) -> "DecisionLog":
        """The log at RUN/review.sqlite, checking videos and classes against the run's
        manifest and taking suggestions from scores.parquet when it exists."""
        from curation.data.manifest import read_manifest
        from curation.runs import RunDir

        run = RunDir(run_dir)
        m = read_manifest(run.path)
        labels = dict(zip(m.df["video_id"].astype(str), m.df["label"].astype(str)))
        suggestions = {}
        if run.scores.exists():
            s = pd.read_parquet(run.scores, columns=["video_id", "suggested_label"])
            s = s.dropna()
            suggestions = dict(zip(s["video_id"].astype(str), s["suggested_label"].astype(str)))
        return cls(run.review_db, labels=labels, classes=m.classes, suggestions=suggestions)

    # -- connections -------------------------------------------------------------------
    @contextlib.contextmanager
    def _connect(self):
        con = sqlite3.connect(self.path, timeout=self.timeout, isolation_level=None)
        try:
            # FULL: a commit is on disk before record() returns, so a kill (or power cut)
            # right after loses nothing that was reported as recorded.
            con.execute("PRAGMA synchronous=FULL")
            con.execute(f"PRAGMA busy_timeout={int(self.timeout * 1000)}")
            yield con
        finally:
            con.close()

    # -- writing -----------------------------------------------------------------------
    def record(self, *, video_id: str, action: str, annotator: str, new_label: str | None = None,
               note: str = "", scores: Mapping | None = None,
               seen_version: int | None = None) -> dict:
        """Append one decision and return it as a dict (with its ``event_id`` and ``version``).

        ``seen_version`` is the video's version the annotator was shown (``version(video_id)``
        at the time); None means "I saw it undecided" (version 0). ``accept`` takes the
        suggested label unless ``new_label`` is given; ``keep`` keeps the given label;
        ``exclude`` and ``undo`` carry no label. Raises DecisionError for bad input and
        ConflictError when the video changed since ``seen_version``.
        """
        video_id = str(video_id)
        action = self._check_action(action)
        annotator = (annotator or "").strip()
        if not annotator:
            raise DecisionError("a decision needs an annotator name (use --annotator NAME)")
        if self.labels is not None and video_id not in self.labels:
            raise DecisionError(
                f"video {video_id!r} is not in the run's manifest; decisions are only "
                "recorded for videos of the manifest (check the video id)"
            )
        old_label = self.labels.get(video_id) if self.labels is not None else None
        new_label = self._resolve_label(video_id, action, new_label, old_label)
        seen = 0 if seen_version is None else int(seen_version)
        payload = json.dumps(_jsonable(scores or {}), sort_keys=True)
        with self._connect() as con:
            con.execute("BEGIN IMMEDIATE")  # the write lock: read-check-insert is atomic
            try:
                current = con.execute(
                    "SELECT COALESCE(MAX(version), 0) FROM events WHERE video_id = ?", (video_id,)
                ).fetchone()[0]
                if current != seen:
                    rows = con.execute(
                        f"SELECT {', '.join(EVENT_COLUMNS)} FROM events "
                        "WHERE video_id = ? AND version > ? ORDER BY version", (video_id, seen),
                    ).fetchall()
                    con.execute("ROLLBACK")
                    raise _conflict(video_id, seen, current, [dict(zip(EVENT_COLUMNS, r)) for r in rows])
                if action == "undo" and _standing(con, video_id) is None:
                    con.execute("ROLLBACK")
                    raise DecisionError(f"video {video_id!r} has no standing decision to undo")
                event = {
                    "video_id": video_id, "action": action, "old_label": old_label,
                    "new_label": new_label, "annotator": annotator, "time": _utc_now(),
                    "note": note or "", "scores": payload, "seen_version": seen,
                    "version": current + 1,
                }
                cur = con.execute(
                    f"INSERT INTO events ({', '.join(event)}) VALUES ({', '.join('?' * len(event))})",
                    tuple(event.values()),
                )
                con.execute("COMMIT")
            except sqlite3.IntegrityError as exc:  # a writer outside this class raced us
                with contextlib.suppress(sqlite3.Error):
                    con.execute("ROLLBACK")
                raise ConflictError(
                    f"video {video_id}: another decision was written at the same time ({exc}); "
                    "reload the video and decide again",
                    video_id=video_id, seen_version=seen, current_version=seen + 1, intervening=[],
                ) from exc
            except BaseException:
                if con.in_transaction:
                    con.execute("ROLLBACK")
                raise
        event["event_id"] = cur.lastrowid
        log.info("recorded %s on %s by %s (version %d)", action, video_id, annotator, event["version"])
        return event

    def _check_action(self, action: str) -> str:
        action = str(action).strip().lower()
        action = ACTION_ALIASES.get(action, action)
        if action not in ACTIONS:
            raise DecisionError(f"unknown action {action!r}; use one of {', '.join(ACTIONS)}")
        return action

    def _resolve_label(self, video_id: str, action: str, new_label, old_label):
        if action in ("exclude", "undo"):
            return None
        if action == "keep":
            return old_label if new_label is None else self._check_class(video_id, new_label)
        if action == "accept":
            label = new_label if new_label is not None else self.suggestions.get(video_id)
            if label is None:
                raise DecisionError(
                    f"video {video_id!r}: no suggested label to accept; pass new_label or "
                    "run `dfer-curate score RUN` to get suggestions"
                )
            return self._check_class(video_id, label)
        if new_label is None or str(new_label).strip() == "":
            raise DecisionError(f"video {video_id!r}: relabel needs a new label (one of the classes)")
        return self._check_class(video_id, new_label)

    def _check_class(self, video_id: str, label) -> str:
        label = str(label)
        if self.classes is not None and label not in self.classes:
            raise DecisionError(
                f"video {video_id!r}: {label!r} is not a class of this run; use one of "
                f"{', '.join(self.classes)}"
            )
        return label

    # -- reading -----------------------------------------------------------------------
    def events(self, video_id: str | None = None, *, columns: list[str] | None = None) -> pd.DataFrame:
        """All events in the order they were recorded (optionally of one video)."""
        columns = list(columns or EVENT_COLUMNS)
        sql = f"SELECT {', '.join(columns)} FROM events"
        params: tuple = ()
        if video_id is not None:
            sql += " WHERE video_id = ?"
            params = (str(video_id),)
        with self._connect() as con:
            rows = con.execute(sql + " ORDER BY event_id", params).fetchall()
        df = pd.DataFrame(rows, columns=columns)
        ints = {c: "int64" for c in ("event_id", "seen_version", "version") if c in columns}
        return df.astype(ints)

    def version(self, video_id: str) -> int:
        """The video's current version (0 when never decided); pass it back as seen_version."""
        with self._connect() as con:
            return int(con.execute(
                "SELECT COALESCE(MAX(version), 0) FROM events WHERE video_id = ?", (str(video_id),)
            ).fetchone()[0])

    def versions(self) -> dict[str, int]:
        """video_id -> version for every video with at least one event."""
        with self._connect() as con:
            rows = con.execute("SELECT video_id, MAX(version) FROM events GROUP BY video_id").fetchall()
        return {v: int(n) for v, n in rows}

    def stamp(self) -> tuple[int, int]:
        """(number of events, last event id): changes whenever anything is recorded (cache key)."""
        with self._connect() as con:
            n, last = con.execute("SELECT COUNT(*), COALESCE(MAX(event_id), 0) FROM events").fetchone()
        return int(n), int(last)

    def current(self) -> pd.DataFrame:
        """The standing decision per decided video (undone decisions removed).

        Columns: video_id, action, old_label, new_label, annotator, time, note, version
        (the video's latest version, what an annotator must pass as seen_version), event_id.
        """
        cols = [c for c in EVENT_COLUMNS if c not in ("scores", "seen_version")]
        return current_from_events(self.events(columns=cols))


def current_from_events(ev: pd.DataFrame) -> pd.DataFrame:
    """Derive the standing decision per video from an event table (pure; see DecisionLog)."""
    cols = CURRENT_COLUMNS + ["event_id"]
    if ev.empty:
        return pd.DataFrame({c: pd.Series(dtype="int64" if c in ("version", "event_id") else "object")
                             for c in cols})
    latest = ev.groupby("video_id", sort=False)["version"].max()
    has_undo = set(ev.loc[ev["action"] == "undo", "video_id"])
    plain = ev[~ev["video_id"].isin(has_undo)]
    standing = plain.loc[plain.groupby("video_id", sort=False)["version"].idxmax()]
    parts = [standing]
    if has_undo:
        keep_rows = []
        sub = ev[ev["video_id"].isin(has_undo)].sort_values(["video_id", "version"])
        for _vid, grp in sub.groupby("video_id", sort=False):
            stack: list[int] = []
            for idx, action in zip(grp.index, grp["action"]):
                if action == "undo":
                    if stack:
                        stack.pop()
                else:
                    stack.append(idx)
            if stack:
                keep_rows.append(stack[-1])
        parts.append(ev.loc[keep_rows])
    out = pd.concat(parts) if len(parts) > 1 else standing
    out = out.assign(version=out["video_id"].map(latest).astype("int64"))
    return out[cols].sort_values("event_id").reset_index(drop=True)


def _standing(con: sqlite3.Connection, video_id: str):
    """The event id of the video's standing decision inside a transaction, or None."""
    rows = con.execute(
        "SELECT event_id, action FROM events WHERE video_id = ? ORDER BY version", (video_id,)
    ).fetchall()
    stack: list[int] = []
    for event_id, action in rows:
        if action == "undo":
            if stack:
                stack.pop()
        else:
            stack.append(event_id)
    return stack[-1] if stack else None


def _conflict(video_id: str, seen: int, current: int, rows: list[dict]) -> ConflictError:
    parts = []
    for r in rows:
        what = ACTION_TITLES.get(r["action"], r["action"])
        if r["new_label"]:
            what += f" -> {r['new_label']}"
        parts.append(f"{r['annotator']} chose '{what}' at {r['time']} (version {r['version']})")
    detail = "; ".join(parts) if parts else f"the log is at version {current}"
    return ConflictError(
        f"conflict on video {video_id}: you saw version {seen} but meanwhile {detail}. "
        "Your decision was NOT recorded; reload the video and decide again.",
        video_id=video_id, seen_version=seen, current_version=current, intervening=rows,
    )


def _utc_now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _jsonable(d: Mapping) -> dict:
    """Scores as plain JSON values (numpy scalars -> Python, NaN -> None)."""
    out = {}
    for k, v in dict(d).items():
        if hasattr(v, "item"):
            v = v.item()
        if isinstance(v, float) and math.isnan(v):
            v = None
        elif v is pd.NA or v is None:
            v = None
        elif not isinstance(v, (int, float, str, bool)):
            v = str(v)
        out[str(k)] = v
    return out
