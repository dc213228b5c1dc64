"""Why one video got its verdict: the decision to offer first, the clips on a timeline, and
one sentence, all recomputed from the clip probabilities the verdict was computed from.

Train videos scored with training dynamics are audited on their M scored clips *plus* the
clips of a window of training epochs (``dynamics_probs.npz``; see docs/ARCHITECTURE.md,
"Method"). The counts here include those clips exactly when the scores row says they entered
(the recomputed agreement must match the row), so the sentence never contradicts the verdict.

Glossary: M scored clips per video, C classes; ``clip_probs`` (M, C) of one video.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from curation.audit.agreement import TriageConfig, clip_agreement
from curation.runs import RunDir

SEGMENT_COLUMNS = ["clip", "kind", "start", "end", "predicted", "predicted_prob", "given_prob"]


@dataclass(frozen=True)
class Action:
    """One decision the page offers: ``kind`` is a decision-log action, ``label`` the label
    the video ends with (None for exclude)."""

    kind: str
    label: str | None
    text: str
    primary: bool = False


def decision_actions(verdict: str, given: str, suggested: str | None) -> list[Action]:
    """The verdict's decisions, the default one first (``primary``).

    noisy: relabel to the suggestion; hard: keep the given label (the runner-up class is
    information only, never a button); clean: keep; hard-or-noisy and unknown verdicts: the
    relabel and the keep side by side, neither a default. Exclude, relabel to any class and
    undo are always offered beside these by the page."""
    can_relabel = suggested is not None and not pd.isna(suggested) and str(suggested) != str(given)
    relabel = Action("accept", str(suggested), f"Relabel to {suggested}") if can_relabel else None
    if verdict == "noisy" and relabel is not None:
        return [dataclasses.replace(relabel, primary=True), Action("keep", given, f"Keep {given}")]
    if verdict == "hard":
        return [Action("keep", given, f"Keep {given} (hard)", primary=True)]
    if verdict == "clean":
        return [Action("keep", given, f"Keep {given}", primary=True)]
    return [a for a in (relabel, Action("keep", given, f"Keep {given}")) if a is not None]


def clip_segments(clip_probs, classes: Sequence[str], given: str, *, starts=None, span: int = 1,
                  n_uniform: int | None = None) -> pd.DataFrame:
    """One row per scored clip, sorted by start frame (SEGMENT_COLUMNS).

    ``clip_probs`` (M, C); ``starts`` (M,) start frames in clip_probs order (None: unknown,
    rows stay in clip order with NA starts); ``end`` is the clip's last frame; ``kind`` is
    "uniform" for the first ``n_uniform`` clips and "key" (key-expression clips) after."""
    p = np.asarray(clip_probs, dtype=np.float64)
    classes = list(classes)
    if p.ndim != 2 or p.shape[1] != len(classes):
        raise ValueError(f"clip_probs must be (M, {len(classes)}), got shape {p.shape}")
    if given not in classes:
        raise ValueError(f"given label {given!r} is not one of the classes {classes}")
    m = p.shape[0]
    pred = p.argmax(axis=1)
    n_uniform = m if n_uniform is None else n_uniform
    if starts is None:
        start = pd.array([pd.NA] * m, dtype="Int64")
        end = start
    else:
        s = np.asarray(starts, dtype=np.int64)
        if s.shape != (m,):
            raise ValueError(f"starts has {s.shape} entries but clip_probs has {m} clips")
        start = pd.array(s, dtype="Int64")
        end = pd.array(s + max(int(span), 1) - 1, dtype="Int64")
    out = pd.DataFrame({
        "clip": np.arange(m), "kind": np.where(np.arange(m) < n_uniform, "uniform", "key"),
        "start": start, "end": end, "predicted": np.asarray(classes, dtype=object)[pred],
        "predicted_prob": p[np.arange(m), pred], "given_prob": p[:, classes.index(given)],
    })
    return out.sort_values(["start", "clip"], kind="mergesort", na_position="last").reset_index(drop=True)


@dataclass(frozen=True)
class TrainingClips:
    """One train video's training-pass clip probabilities (W*K, C), epoch-major, from the
    epochs ``epochs`` (first, last; 1-based, None when the window is unknown)."""

    clip_probs: np.ndarray
    epochs: tuple[int, int] | None


class TrainingWindow:
    """The evidence window of ``dynamics_probs.npz``: per train video, the clips of the
    epochs the score stage blended in. ``window`` is the train config's ``window``."""

    def __init__(self, video_ids: Sequence[str], clip_probs: np.ndarray, last_epoch: int,
                 window: int | None = None):
        self.clip_probs = np.asarray(clip_probs)
        self.index = {str(v): i for i, v in enumerate(video_ids)}
        self.epochs = (max(1, int(last_epoch) - int(window) + 1), int(last_epoch)) if window else None

    @classmethod
    def read(cls, run: RunDir, window: int | None = None) -> "TrainingWindow | None":
        """The run's window, or None when the run has no dynamics evidence."""
        if not run.dynamics_probs.exists():
            return None
        with np.load(run.dynamics_probs, allow_pickle=False) as z:
            return cls([str(v) for v in z["video_ids"]], z["clip_probs"], int(z["epoch"]), window)

    def get(self, video_id: str) -> TrainingClips | None:
        i = self.index.get(str(video_id))
        if i is None:
            return None
        return TrainingClips(self.clip_probs[i].astype(np.float32), self.epochs)


def training_series(dynamics: pd.DataFrame, video_id: str, epochs: tuple[int, int] | None = None) -> pd.DataFrame:
    """One video's agreement per training epoch (dynamics.parquet rows): epoch, agree_label,
    label_prob and ``in_window`` (the epoch's clips entered the verdict). Empty for videos
    that were not trained on."""
    d = dynamics.loc[dynamics["video_id"].astype(str) == str(video_id), ["epoch", "agree_label", "label_prob"]]
    d = d.sort_values("epoch").reset_index(drop=True)
    lo, hi = epochs if epochs is not None else (0, -1)
    return d.assign(in_window=d["epoch"].between(lo, hi).to_numpy())


@dataclass(frozen=True)
class VideoEvidence:
    """What the annotator needs for one video; ``votes`` and ``n_clips`` count every clip that
    entered the verdict (scored plus training clips), ``consistent`` says the recount matches
    the scores row (False: the sentence quotes the row's shares instead of counts)."""

    video_id: str
    verdict: str
    given: str
    suggested: str | None
    consensus: str
    actions: list[Action]
    segments: pd.DataFrame
    votes: dict[str, int]
    n_clips: int
    n_training_clips: int
    training_epochs: tuple[int, int] | None
    sentence: str
    consistent: bool
    runner_up: str | None = None
    notes: list[str] = field(default_factory=list)
    opinions: str | None = None  # why the model's three opinions differ, when they do

    @property
    def primary(self) -> Action | None:
        return next((a for a in self.actions if a.primary), None)


def triage_config(score_config: Mapping | None) -> TriageConfig:
    """The triage cuts the score stage used, from config.json's ``score`` section."""
    names = {f.name for f in dataclasses.fields(TriageConfig)}
    return TriageConfig(**{k: v for k, v in dict(score_config or {}).items() if k in names})


def _matches(agr, row: Mapping, tol: float = 1e-5) -> bool:
    for k in ("agree_label", "agree_mode", "label_prob"):
        v = row.get(k)
        if v is None or pd.isna(v) or abs(float(getattr(agr, k)[0]) - float(v)) > tol:
            return False
    return True


def video_evidence(row: Mapping, clip_probs, classes: Sequence[str], *, starts=None, span: int = 1,
                   n_uniform: int | None = None, training: TrainingClips | None = None,
                   triage: TriageConfig | None = None) -> VideoEvidence:
    """The evidence of the video in ``row`` (a scores row, schema.SCORES_COLUMNS) from its
    scored clips ``clip_probs`` (M, C) and, for train videos, its training clips."""
    classes = list(classes)
    tri = triage or TriageConfig()
    given, verdict = str(row["label"]), str(row["verdict"])
    suggested = None if pd.isna(row.get("suggested_label")) else str(row["suggested_label"])
    p = np.asarray(clip_probs, dtype=np.float64)
    segments = clip_segments(p, classes, given, starts=starts, span=span, n_uniform=n_uniform)
    label = classes.index(given)
    candidates = [(np.concatenate([p, training.clip_probs.astype(np.float64)]), training)] if training else []
    candidates.append((p, None))
    for probs, used in candidates:
        agr = clip_agreement(probs[None], np.array([label]))
        if _matches(agr, row):
            break
    else:
        probs, used = p, None
        agr = None
    consistent = agr is not None
    if agr is None:
        agr = clip_agreement(p[None], np.array([label]))
    votes = np.bincount(probs.argmax(axis=1), minlength=len(classes))
    consensus = classes[int(agr.consensus[0])] if consistent else str(row.get("consensus_label", given))
    n_train = len(used.clip_probs) if used is not None else 0
    facts = _Facts(
        given=given, consensus=consensus, votes=dict(zip(classes, votes.tolist())), n=len(probs),
        mean={c: float(v) for c, v in zip(classes, agr.mean_probs[0])}, row=row, counted=consistent,
        source=_source(len(p), n_train, used.epochs if used is not None else None),
    )
    notes = [] if consistent else [
        "the clip probabilities on disk do not reproduce this row of the scores (re-run "
        "`dfer-curate score`); the sentence quotes the scores table"]
    return VideoEvidence(
        video_id=str(row["video_id"]), verdict=verdict, given=given, suggested=suggested, consensus=consensus,
        actions=decision_actions(verdict, given, suggested), segments=segments,
        votes=facts.votes, n_clips=len(probs), n_training_clips=n_train,
        training_epochs=used.epochs if used is not None else None,
        sentence=_sentence(verdict, facts, tri), consistent=consistent,
        runner_up=suggested if verdict == "hard" and suggested != given else None, notes=notes,
        opinions=opinions(row, consensus),
    )


def opinions(row: Mapping, consensus: str) -> str | None:
    """One sentence when the most probable class (averaged probabilities), the clips' majority
    class and the suggestion are not one class, saying why each is what it is; None when they
    agree."""
    pred = None if pd.isna(row.get("pred_label")) else str(row["pred_label"])
    given = str(row["label"])
    suggested = None if pd.isna(row.get("suggested_label")) else str(row["suggested_label"])
    parts = []
    if pred is not None and pred != consensus:
        parts.append(f"most clips vote {consensus}, but averaged over the clips {pred} is more probable "
                     "(a few confident clips outweigh more hesitant ones)")
    if suggested is not None and suggested not in (given, consensus):
        if consensus == given and str(row.get("verdict")) != "noisy":
            parts.append(f"the suggestion {suggested} is only the runner-up, since the clips' majority is the given "
                         "label")
        else:
            parts.append(f"the suggestion {suggested} is not the clips' majority ({consensus}): weighing the clearest "
                         "clips most, with the whole-video prediction, it leads")
    if not parts:
        return None
    text = "; ".join(parts)
    return text[0].upper() + text[1:] + "."


def _source(n_scored: int, n_train: int, epochs) -> str:
    if not n_train:
        return ""
    when = f"training epochs {epochs[0]}-{epochs[1]}" if epochs else "training"
    return f" ({n_scored} scored clips and {n_train} from {when})"


@dataclass(frozen=True)
class _Facts:
    given: str
    consensus: str
    votes: dict
    n: int
    mean: dict
    row: Mapping
    counted: bool
    source: str

    def count(self, cls: str, share_field: str) -> str:
        """'9 of 12 clips' from the recount, or the row's share when the recount failed."""
        if self.counted:
            return f"{self.votes.get(cls, 0)} of {self.n} clips"
        return f"{float(self.row[share_field]):.0%} of the clips"

    def others(self, exclude: Sequence[str]) -> str:
        rest = sorted(((k, c) for c, k in self.votes.items() if c not in exclude and k > 0), key=lambda t: -t[0])
        if not self.counted or not rest:
            return "other classes"
        return ", ".join(f"{c} ({k})" for k, c in rest[:3])


def _sentence(verdict: str, f: _Facts, tri: TriageConfig) -> str:
    g, c = f.given, f.consensus
    score = float(f.row.get("noise_score", float("nan")))
    pc, pg = f.mean.get(c, np.nan), f.mean.get(g, np.nan)
    if not f.counted:
        pg = float(f.row.get("label_prob", np.nan))
        pc = pg + float(f.row.get("margin", 0.0))
    on_label = f.count(g, "agree_label")
    on_mode = f.count(c, "agree_mode")
    lead = f.row.get("suggested_lead")
    pooled = tri.route == "pooled" and lead is not None and not pd.isna(lead)
    s = str(f.row.get("suggested_label", c))
    if pooled and verdict == "noisy":
        on_s = f.count(s, "agree_mode") if s == c else f"{f.votes.get(s, 0)} of {f.n} clips"
        return (f"{on_s} vote {s} and {on_label} the given {g}{f.source}; weighing the clearest clips most, "
                f"with the whole-video prediction, {s} leads {g} by {float(lead):.2f}, more than the "
                f"{tri.min_margin:.2f} a relabel needs.")
    if pooled and verdict == "hard-or-noisy":
        return (f"Its wrong-label score ({score:.2f}) ranks it among the {g} videos most likely mislabelled, "
                f"but weighing the clearest clips most, with the whole-video prediction, the best other class "
                f"{s} leads the given {g} by only {float(lead):.2f} (a relabel needs more than "
                f"{tri.min_margin:.2f}); {on_label} vote {g}{f.source}, the others {f.others([g])}: you decide.")
    if verdict == "noisy":
        return (f"{on_mode} agree on {c}, not the given {g}{f.source}; on average {c} is {pc:.0%} "
                f"likely and {g} {pg:.0%}.")
    if verdict == "hard-or-noisy":  # flagged by its score, but the clips do not name another class
        if c == g:
            return (f"Its wrong-label score ({score:.2f}) ranks it among the {g} videos most likely mislabelled, "
                    f"yet {on_label} agree with the given {g}{f.source} and the rest say {f.others([g])}: you decide.")
        if float(f.row.get("agree_mode", 0.0)) < tri.min_agree:
            return (f"The clips split{f.source}: {on_mode} say {c}, {f.count(g, 'agree_label')} the given {g}, "
                    f"the others {f.others([c, g])}; its wrong-label score ({score:.2f}) flags it, but no class "
                    f"holds {tri.min_agree:.0%} of the clips: you decide.")
        return (f"{on_mode} say {c}{f.source}, but on average {c} ({pc:.0%}) leads the given {g} ({pg:.0%}) by "
                f"no more than {tri.min_margin:.2f}; its wrong-label score ({score:.2f}) flags it: you decide.")
    if verdict == "hard":  # not flagged by its score, but the clips split
        if float(f.row.get("agree_label", 0.0)) >= tri.hard_agree:  # a run scored before hard-or-noisy existed
            return (f"{on_label} agree with the given {g}{f.source}, but its wrong-label score ({score:.2f}) ranks "
                    f"it among the {g} videos most likely mislabelled; no other class wins, so the label stays.")
        if c == g:
            return (f"Only {on_label} agree with the given {g}{f.source}, fewer than the {tri.hard_agree:.0%} "
                    f"a kept label needs; the others say {f.others([g])}.")
        if float(f.row.get("agree_mode", 0.0)) < tri.min_agree:
            return (f"The clips split{f.source}: {on_mode} say {c}, {f.count(g, 'agree_label')} the given {g}, "
                    f"the others {f.others([c, g])}; no class holds {tri.min_agree:.0%} of them, so the label stays.")
        if float(f.row.get("margin", 0.0)) <= tri.min_margin:
            return (f"{on_mode} say {c}{f.source}, but on average {c} ({pc:.0%}) leads the given {g} "
                    f"({pg:.0%}) by no more than {tri.min_margin:.2f}, too little to call the label wrong.")
        return (f"{on_mode} say {c}{f.source}, but its wrong-label score ({score:.2f}) is not among the highest "
                f"of the {g} videos, so the label stays.")
    if verdict == "clean":
        if c == g:
            return f"{on_label} agree with the given {g}{f.source}."
        return f"{on_mode} say {c} and {f.count(g, 'agree_label')} the given {g}{f.source}, but its wrong-label score ({score:.2f}) is low."
    return f"{on_mode} say {c}; {f.count(g, 'agree_label')} agree with the given {g}{f.source}."
