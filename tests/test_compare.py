"""curation.audit.compare: the baseline ours is compared against."""

import pandas as pd

from curation.audit.compare import strongest_baseline


def test_the_strongest_baseline_is_the_best_non_ours_method_with_a_value():
    det = pd.DataFrame({"method": ["ours", "aum", "cl_both", "cl_prune_by_class", "knn_vote"],
                        "noisy_vs_hard_auroc": [0.99, 0.90, float("nan"), 0.92, 0.91],
                        "f1": [0.9, 0.95, 0.80, 0.82, float("nan")]})
    assert strongest_baseline(det) == ("cl_prune_by_class", 0.92)  # ours and missing values never win
    assert strongest_baseline(det, "f1") == ("aum", 0.95)
    assert strongest_baseline(det, "f1", methods=["cl_both", "cl_prune_by_class"]) == ("cl_prune_by_class", 0.82)
    assert strongest_baseline(det, "noisy_vs_hard_auroc", methods=["cl_both"]) is None
