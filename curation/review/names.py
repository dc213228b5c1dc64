"""Plain-language names of the scores' fields, with the raw field kept for a tooltip.

One mapping for every place that shows a score to a person (dashboard, report, FiftyOne
sidebar), so the same field never goes by two names. Columns are those of
``schema.SCORES_COLUMNS`` (see docs/ARCHITECTURE.md, "Data contracts").
"""

from __future__ import annotations

# raw field -> (plain name, what it measures; which way it points)
FIELDS: dict[str, tuple[str, str]] = {
    "video_id": ("Video", "the video's id in the manifest"),
    "split": ("Split", "train, val or test"),
    "label": ("Given label", "the label the dataset gives the video: the one under audit"),
    "verdict": ("Verdict", "noisy = label probably wrong; hard = label probably right but the video is "
                           "ambiguous; clean = nothing to review"),
    "noise_score": ("Wrong-label score", "0 to 1, higher = more likely mislabelled; blends the "
                                                  "clips' votes, the probability margin, the video head "
                                                  "and the training margin"),
    "hardness": ("Ambiguity", "0 to 1, higher = the clips split among classes and the mean prediction is "
                              "spread out; independent of the given label"),
    "agree_label": ("Clips agreeing with the label", "share of the clips whose most probable class is "
                                                     "the given label"),
    "agree_mode": ("Clips agreeing with each other", "share of the clips that vote for the clips' "
                                                     "majority class"),
    "consensus_label": ("Clips' majority class", "the class most clips vote for (ties: the higher mean "
                                                 "probability)"),
    "margin": ("Majority's lead over the label", "mean probability of the clips' majority class minus "
                                                 "that of the given label; 0 when they are the same class"),
    "label_prob": ("Probability of the given label", "the given label's probability averaged over the "
                                                     "clips"),
    "pred_label": ("Most probable class", "the class with the highest probability averaged over the "
                                          "clips (can differ from the clips' majority class when votes "
                                          "are split)"),
    "pred_conf": ("Its probability", "the averaged probability of the most probable class"),
    "suggested_label": ("Suggested label", "the most probable class other than the given label, with the "
                                           "clearest clips weighing most and the video head blended in "
                                           "(information only unless the verdict is noisy)"),
    "suggested_lead": ("Suggestion's lead", "the suggested label's probability minus the given label's, "
                                            "pooled as for the suggestion; a flagged video whose lead passes "
                                            "the triage margin is called noisy"),
    "score_source": ("Scored by", "which model produced the video's scores"),
    # the review table's own columns (curation.review.queue.review_table)
    "decision": ("Decision", "the standing decision in the decision log (accept, relabel, keep, exclude)"),
    "final_label": ("Final label", "the label after the standing decision; empty when excluded"),
    "annotator": ("Decided by", "who made the standing decision"),
    "baseline_flag": ("Baseline flags it", "whether the chosen baseline (cleanlab by default) calls the "
                                           "label wrong"),
    "baseline_score": ("Baseline's score", "the chosen baseline's score, higher = more likely wrong"),
}

VERDICT_TEXT = {
    "noisy": "label probably wrong",
    "hard": "label probably right, video ambiguous",
    "hard-or-noisy": "flagged; the clips do not settle it: you decide",
    "clean": "nothing to review",
}


def plain_name(field: str) -> str:
    """The plain name of ``field``; an unknown field keeps its raw name."""
    return FIELDS.get(field, (field, ""))[0]


def field_help(field: str) -> str:
    """The tooltip of ``field``: what it measures, then the raw column name."""
    name, text = FIELDS.get(field, (field, ""))
    return f"{text} (column `{field}`)" if text else f"column `{field}`"
