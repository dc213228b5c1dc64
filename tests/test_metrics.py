"""curation.audit.metrics: the weak-model warning (detection metrics are checked in test_baselines and test_bench)."""

from curation.audit.metrics import weak_model_warning


def test_weak_model_warning_names_uar_and_chance():
    def log(*uars):
        return {"heldout": "val", "log": [{"heldout_uar": u} for u in uars]}

    msg = weak_model_warning(log(0.15, 0.19, 0.24), 7)
    assert msg and "UAR is 0.24" in msg and "chance 0.14" in msg and "--epochs" in msg
    assert weak_model_warning(log(0.15, 0.4), 7) is None
    assert weak_model_warning(log(0.6), 2) is None and weak_model_warning(log(0.55), 2) is not None
    assert weak_model_warning({"log": []}, 7) is None
