"""Export a curated dataset: final labels from the decision log plus an explicit policy for
flagged videos nobody reviewed, in the formats DFER codebases read, with provenance.

Layout of RUN/exports/<UTC stamp>/ (written in a temp folder, then renamed: a reader never
sees half an export; an existing folder is refused; the source dataset is never touched):

    manifest.parquet   curated manifest (kept videos; dataset root and classes in metadata,
                       so ``read_manifest(export_dir)`` opens it)
    manifest.csv       the same table as CSV (paths relative to the dataset root)
    excluded.csv       excluded videos and why (a decision, or the policy)
    classes.txt        class names, line i = label index i (0-based) of the txt formats
    classes.json       the same list
    dfer-clip/<split>.txt   DFER-CLIP style ``path num_frames label`` (absolute paths, 0-based)
    mae-dfer/<split>.csv    MAE-DFER style ``path label`` (space separated, 0-based)
    provenance.json    run, checkpoint hash, thresholds, policy, counts, input hashes, time, who

Policy for flagged videos without a standing decision (decisions always win):
    keep-given                (default) keep their given label
    accept-suggestions        noisy ones take the suggested label; hard and hard-or-noisy ones
                              keep theirs (no confident suggestion exists for the latter)
    exclude-unreviewed        leave out every unreviewed flagged (noisy, hard-or-noisy, hard) video
    exclude-unreviewed-noisy  leave out unreviewed noisy and hard-or-noisy videos, keep hard ones
``reviewed-only`` is accepted as another name for exclude-unreviewed. Policies apply to
every split in scores.parquet.
"""

from __future__ import annotations

import errno
import getpass
import hashlib
import logging
import os
import re
import shutil
import socket
import tempfile
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path

import pandas as pd

from curation.review.decisions import DecisionLog
from curation.errors import CurationError, RunError
from curation.fileio import write_csv, write_json, write_text
from curation.data.manifest import Manifest, write_manifest
from curation.runs import RunDir
from curation.schema import FLAGGED_VERDICTS

log = logging.getLogger(__name__)

POLICIES = ("keep-given", "accept-suggestions", "exclude-unreviewed", "exclude-unreviewed-noisy")
POLICY_ALIASES = {"reviewed-only": "exclude-unreviewed"}
FORMATS = ("parquet", "csv", "dfer-clip", "mae-dfer")
DEFAULT_POLICY = "keep-given"

_SCORE_COLS = ["video_id", "verdict", "noise_score", "hardness", "suggested_label", "consensus_label"]
_THRESHOLD_KEY = re.compile(r"^(min_|max_|hard_agree|rate_scale|clip_pooling|vote_weight|video_weight|aum_weight)|thresh")


class ExportError(CurationError):
    """The export cannot be written (bad policy or format, existing folder, ...)."""


@dataclass
class ExportConfig:
    """How an export was made; saved in provenance.json and config.json ("export")."""

    policy: str = DEFAULT_POLICY  # what happens to flagged videos nobody reviewed
    formats: tuple[str, ...] = FORMATS  # which files to write besides manifest.parquet
    who: str = ""  # the person or process exporting (default: the OS user)
    out: str | None = None  # target folder; default RUN/exports/<UTC stamp>


def resolve_policy(policy: str) -> str:
    p = POLICY_ALIASES.get(policy, policy)
    if p not in POLICIES:
        raise ExportError(f"unknown policy {policy!r}; use one of {', '.join(POLICIES)}")
    return p


def parse_formats(formats) -> tuple[str, ...]:
    """'parquet,csv' or a sequence -> validated tuple in canonical order."""
    if isinstance(formats, str):
        formats = [f.strip() for f in formats.split(",") if f.strip()]
    bad = [f for f in formats if f not in FORMATS]
    if bad:
        raise ExportError(f"unknown format(s) {', '.join(bad)}; use a comma list of {', '.join(FORMATS)}")
    if not formats:
        raise ExportError(f"no export format chosen; use a comma list of {', '.join(FORMATS)}")
    return tuple(f for f in FORMATS if f in formats)


def curate(manifest: pd.DataFrame, scores: pd.DataFrame | None, current: pd.DataFrame | None,
           *, policy: str = DEFAULT_POLICY) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Final label per video (pure). Returns (kept, excluded).

    ``kept`` is the manifest with ``label`` = final label plus ``given_label``, ``changed``,
    ``label_source`` (given / decision / policy), the decision behind it (``decision_*``)
    and the scores it was flagged with. ``excluded`` lists left-out videos with a ``reason``.
    """
    policy = resolve_policy(policy)
    t = manifest.reset_index(drop=True).copy()
    t["given_label"] = t["label"].astype("string")
    if scores is not None:
        s = scores[[c for c in _SCORE_COLS if c in scores.columns]].drop_duplicates("video_id")
        t = t.merge(s, on="video_id", how="left")
    for c in _SCORE_COLS[1:]:
        if c not in t.columns:
            t[c] = pd.NA
    dec_cols = {"action": "decision_action", "new_label": "decision_label", "annotator": "decision_annotator",
                "time": "decision_time", "note": "decision_note", "version": "decision_version",
                "event_id": "decision_event_id"}
    if current is not None and len(current):
        d = current[[c for c in ["video_id", *dec_cols] if c in current.columns]].rename(columns=dec_cols)
        t = t.merge(d, on="video_id", how="left")
    for c in dec_cols.values():
        if c not in t.columns:
            t[c] = pd.NA
    t["decision_action"] = t["decision_action"].astype("string")
    t["decision_version"] = t["decision_version"].astype("Int64")
    t["decision_event_id"] = t["decision_event_id"].astype("Int64")

    decided = t["decision_action"].notna().to_numpy()
    verdict = t["verdict"].astype("string")
    noisy = verdict.eq("noisy").fillna(False).to_numpy()
    maybe_noisy = verdict.isin(FLAGGED_VERDICTS).fillna(False).to_numpy()
    flagged = verdict.isin(["noisy", "hard", "hard-or-noisy"]).fillna(False).to_numpy()
    final = t["given_label"].copy()
    source = pd.Series("given", index=t.index, dtype="string")
    reason = pd.Series(pd.NA, index=t.index, dtype="string")

    labelled = decided & t["decision_action"].isin(["accept", "relabel", "keep"]).fillna(False).to_numpy()
    final[labelled] = t.loc[labelled, "decision_label"].astype("string")
    source[decided] = "decision"
    dec_excl = decided & t["decision_action"].eq("exclude").fillna(False).to_numpy()
    reason[dec_excl] = "decision: exclude"

    todo = ~decided
    if policy == "keep-given":
        source[todo & flagged] = "policy"
    elif policy == "accept-suggestions":
        sugg = t["suggested_label"].astype("string")
        take = todo & noisy & sugg.notna().to_numpy()
        final[take] = sugg[take]
        source[todo & flagged] = "policy"
    elif policy == "exclude-unreviewed":
        reason[todo & flagged] = f"policy: {policy}"
        source[todo & flagged] = "policy"
    elif policy == "exclude-unreviewed-noisy":
        reason[todo & maybe_noisy] = f"policy: {policy}"
        source[todo & flagged] = "policy"
    t["label"] = final
    t["label_source"] = source
    t["changed"] = (t["label"] != t["given_label"]).fillna(False).astype(bool)
    t = t.drop(columns=["decision_label"])
    out = reason.notna().to_numpy()
    excluded = t.loc[out].assign(reason=reason[out])
    excluded = excluded[["video_id", "path", "split", "given_label", "verdict", "noise_score", "reason",
                         "decision_annotator", "decision_time", "decision_note", "decision_event_id"]]
    kept = t.loc[~out].reset_index(drop=True)
    return kept, excluded.reset_index(drop=True)


def export(run_dir, *, policy: str = DEFAULT_POLICY, formats=FORMATS, out=None,
           who: str | None = None) -> Path:
    """Write a curated export of ``run_dir`` and return its folder (see module docstring).

    Needs manifest.parquet and scores.parquet; decisions come from review.sqlite when it
    exists. ``out`` defaults to RUN/exports/<UTC stamp>; an existing ``out`` is refused.
    """
    run = RunDir(run_dir)
    _check_run(run)
    policy = resolve_policy(policy)
    formats = parse_formats(formats)
    who = who or _os_user()
    run.require("manifest", "ingest")
    run.require("scores", "score")
    now = datetime.now(timezone.utc)
    if out is not None:
        target = Path(out)
        if target.exists():
            raise ExportError(f"{target} already exists; exports never overwrite, choose a new --out")
    else:
        if not run.writable():
            raise ExportError(f"{run.path} is read-only: pass --out DIR to write the export elsewhere")
        target = _fresh_stamp_dir(run.exports, now)

    manifest = run.read_manifest()
    scores = run.read_scores(manifest)  # the same videos and labels as the manifest, or a RunError
    dlog = DecisionLog(run.review_db) if run.review_db.exists() else None
    events = dlog.events() if dlog else None
    current = dlog.current() if dlog else None
    kept, excluded = curate(manifest.df, scores, current, policy=policy)

    config = ExportConfig(policy=policy, formats=formats, who=who, out=str(target))
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent))
    try:
        _write_all(tmp, run, manifest, kept, excluded, formats)
        prov = _provenance(run, manifest, kept, excluded, events, config, now)
        prov["files"] = {str(p.relative_to(tmp)): _sha256(p) for p in sorted(tmp.rglob("*")) if p.is_file()}
        write_json(tmp / "provenance.json", prov)
        target = _move_into_place(tmp, target, fixed=out is not None)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    if target != Path(config.out):  # another export took the stamp meanwhile: record the real one
        config.out = str(target)
        prov["export_config"] = asdict(config)
        write_json(target / "provenance.json", prov)
    run.save_config("export", config)
    log.info("exported %d videos (%d excluded) to %s", len(kept), len(excluded), target)
    return target


def _write_all(tmp: Path, run: RunDir, manifest: Manifest, kept: pd.DataFrame,
               excluded: pd.DataFrame, formats: tuple[str, ...]) -> None:
    classes = manifest.classes
    # manifest.parquet is written whatever the formats: it carries the root and classes
    # (`read_manifest(export_dir)` opens it); "parquet" in formats is accepted for clarity.
    write_manifest(tmp, Manifest(kept, classes, manifest.root.resolve()))
    write_text(tmp / "classes.txt", "".join(f"{c}\n" for c in classes))
    write_csv(tmp / "excluded.csv", excluded)
    if "csv" in formats:
        write_csv(tmp / "manifest.csv", kept)
    index = {c: i for i, c in enumerate(classes)}
    root = manifest.root.resolve()
    splits = [s for s in ("train", "val", "test") if (kept["split"] == s).any()]
    if "dfer-clip" in formats:
        frames = kept["num_frames"].copy()
        missing = frames.isna().to_numpy()
        if missing.any():
            from curation.data.video import count_frames

            frames[missing] = [count_frames(root / p) for p in kept.loc[missing, "path"]]
        for s in splits:
            rows = kept["split"] == s
            lines = [f"{root / p} {int(n)} {index[lab]}\n"
                     for p, n, lab in zip(kept.loc[rows, "path"], frames[rows], kept.loc[rows, "label"])]
            write_text(tmp / "dfer-clip" / f"{s}.txt", "".join(lines))
    if "mae-dfer" in formats:
        for s in splits:
            rows = kept["split"] == s
            lines = [f"{root / p} {index[lab]}\n" for p, lab in zip(kept.loc[rows, "path"], kept.loc[rows, "label"])]
            write_text(tmp / "mae-dfer" / f"{s}.csv", "".join(lines))


def _provenance(run: RunDir, manifest: Manifest, kept: pd.DataFrame, excluded: pd.DataFrame,
                events: pd.DataFrame | None, config: ExportConfig, now: datetime) -> dict:
    cfg = run.load_config()
    thresholds = {f"{stage}.{k}": v for stage, d in cfg.items() if isinstance(d, dict)
                  for k, v in d.items() if _THRESHOLD_KEY.search(k)}
    best = run.checkpoints / "best.pt"
    inputs = {}
    for name in ("manifest", "classes", "config", "scores", "clip_probs", "baselines", "dynamics"):
        p = getattr(run, name)
        if p.exists():
            inputs[p.name] = _sha256(p)
    decisions = {"path": str(run.review_db), "events": 0, "last_event_id": 0, "events_sha256": None}
    if events is not None and len(events):
        payload = events.to_json(orient="records").encode()
        decisions.update(events=int(len(events)), last_event_id=int(events["event_id"].max()),
                         events_sha256=hashlib.sha256(payload).hexdigest(),
                         annotators=sorted(events["annotator"].unique().tolist()))
    all_rows = pd.concat([kept[["split", "label_source", "decision_action"]],
                          excluded[["split"]].assign(label_source="excluded")], ignore_index=True)
    by_action = kept["decision_action"].value_counts().to_dict()
    n_dec_excl = int(excluded["reason"].eq("decision: exclude").sum())
    if n_dec_excl:
        by_action["exclude"] = n_dec_excl
    return {
        "tool": "dfer-curate export",
        "run": str(run.path.resolve()),
        "created": now.isoformat(timespec="seconds").replace("+00:00", "Z"),
        "who": config.who,
        "host": socket.gethostname(),
        "policy": config.policy,
        "policy_scope": "flagged videos (verdict noisy or hard) without a standing decision, every split",
        "formats": list(config.formats),
        "dataset_root": str(manifest.root.resolve()),
        "classes": manifest.classes,
        "label_index": "0-based position in classes.txt (dfer-clip and mae-dfer files)",
        "checkpoint": {"path": str(best), "sha256": _sha256(best)} if best.exists() else None,
        "thresholds": thresholds,
        "config": cfg,
        "counts": {
            "videos": int(len(kept) + len(excluded)),
            "kept": int(len(kept)),
            "excluded": int(len(excluded)),
            "changed": int(kept["changed"].sum()),
            "by_action": {str(k): int(v) for k, v in by_action.items()},
            "by_label_source": {str(k): int(v) for k, v in all_rows["label_source"].value_counts().items()},
            "excluded_by_reason": {str(k): int(v) for k, v in excluded["reason"].value_counts().items()},
            "kept_by_split": {str(k): int(v) for k, v in kept["split"].value_counts().items()},
        },
        "inputs_sha256": inputs,
        "decisions": decisions,
        "export_config": asdict(config),
    }


def list_exports(run_dir) -> list[Path]:
    """Finished exports of a run, newest first (temp folders of unfinished ones are skipped)."""
    ex = RunDir(run_dir).exports
    if not ex.exists():
        return []
    done = [p for p in ex.iterdir() if p.is_dir() and not p.name.startswith(".")
            and (p / "provenance.json").exists()]
    return sorted(done, key=lambda p: p.name, reverse=True)


def review_command(run_dir) -> str:
    """The command that opens the review dashboard on a run (what the demo prints)."""
    return f"dfer-curate review {run_dir}"


def _move_into_place(tmp: Path, target: Path, *, fixed: bool) -> Path:
    """Rename the finished ``tmp`` folder to ``target`` and return where it went. A default
    (stamped) target taken by another export in the same second moves on to the next free
    name; a chosen ``--out`` that appeared meanwhile is refused."""
    while True:
        try:
            if target.exists():
                raise FileExistsError(target)
            os.rename(tmp, target)  # fails on a non-empty target, so two exports never mix
            return target
        except OSError as exc:
            if not (isinstance(exc, FileExistsError) or exc.errno in (errno.EEXIST, errno.ENOTEMPTY)):
                raise
            if fixed:
                raise ExportError(f"{target} already exists; exports never overwrite, choose a new --out") from exc
            target = _fresh_stamp_dir(target.parent, None, base=target.name.split("-")[0])


def _fresh_stamp_dir(exports: Path, now: datetime | None, *, base: str | None = None) -> Path:
    stamp = base or now.strftime("%Y%m%dT%H%M%SZ")
    target = exports / stamp
    n = 2
    while target.exists():
        target = exports / f"{stamp}-{n}"
        n += 1
    return target


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _os_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def _check_run(run: RunDir) -> None:
    if not run.path.exists():
        raise RunError(f"{run.path} does not exist; pass a run directory made by `dfer-curate synth` or `ingest`")


__all__ = ["export", "curate", "list_exports", "review_command", "ExportConfig", "ExportError",
           "POLICIES", "FORMATS", "DEFAULT_POLICY", "resolve_policy", "parse_formats"]
