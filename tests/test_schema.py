"""Cross-table contracts: scores belong to the manifest they were computed for."""

import pandas as pd

from curation.schema import scores_mismatch

MANIFEST = pd.DataFrame({"video_id": ["a", "b", "c"], "label": ["happy", "sad", "sad"]})


def test_matching_scores_are_fine_in_any_order():
    scores = MANIFEST.iloc[::-1].reset_index(drop=True)
    assert scores_mismatch(MANIFEST, scores) is None


def test_missing_and_extra_videos_are_named():
    scores = pd.DataFrame({"video_id": ["a", "b", "z"], "label": ["happy", "sad", "sad"]})
    why = scores_mismatch(MANIFEST, scores)
    assert "1 manifest video(s) have no score (e.g. c)" in why
    assert "1 scored video(s) are not in the manifest (e.g. z)" in why


def test_a_changed_label_makes_scores_stale():
    scores = MANIFEST.assign(label=["happy", "happy", "sad"])
    assert "b: scored as 'happy', manifest says 'sad'" in scores_mismatch(MANIFEST, scores)
