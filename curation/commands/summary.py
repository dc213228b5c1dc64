"""What train, score and the demo print after scoring: verdict counts and noise detection."""

from curation.schema import VERDICTS


def print_summary(s: dict) -> None:
    """Print ``model.score.summary``'s verdict counts, its warning and, with ground truth,
    the detection metrics on the train split."""
    c = s["counts"]
    print("verdicts: " + ", ".join(f"{v} {c[v]}" for v in VERDICTS))
    if s.get("warning"):
        print(f"WARNING: {s['warning']}")
    d = s.get("detection")
    if d:
        print(f"noise detection (train split): precision {d['precision']:.3f} recall {d['recall']:.3f} "
              f"F1 {d['f1']:.3f} AUROC {d['auroc']:.3f} | hard retention {d['hard_retention']:.3f} "
              f"| relabel accuracy {d['relabel_accuracy']:.3f}")
