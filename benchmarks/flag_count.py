"""How many videos should the audit flag? Re-run our triage on the outputs a bench left on disk
(each configuration's audit run: clip probabilities, noise scores, the fold networks'
out-of-fold probabilities), changing only the per-class noise rates that set the flag count:
an estimate from the final model's in-sample clip probabilities (what pixel runs and
`train --flag-rates in-sample` do, near enough) against cleanlab's confident joint of the
fold networks' out-of-fold probabilities. `train --frozen` now takes its rates from linear
fold heads on the embeddings (model.oof.training_rates), a cheaper relative of the second.
No training.

    .venv/bin/python benchmarks/flag_count.py --bench runs/bench
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from curation.audit import agreement as A  # noqa: E402
from curation.audit import baselines as B  # noqa: E402
from curation.audit.metrics import detection_table  # noqa: E402
from curation.data.manifest import read_manifest  # noqa: E402


def rates_compared(audit: Path) -> list[dict]:
    """One row per way of estimating the rates: their mean, and our flags' quality on the
    train split (``noisy`` verdicts; ``or_undecided`` also counts ``hard-or-noisy``)."""
    x_in, x_oof = B.load_inputs(audit, probs="insample"), B.load_inputs(audit, probs="oof")
    scores = pd.read_parquet(audit / "scores.parquet")
    train = scores[scores["split"] == "train"].reset_index(drop=True)
    labels = x_in.labels
    agr = A.clip_agreement(x_in.clip_probs, labels)
    c = x_oof.pred_probs.shape[1]
    rates = {"in-sample clip probabilities": A.estimate_noise_rates(agr.mean_probs, labels, num_classes=c),
             "confident joint, out-of-fold": A.confident_noise_rates(x_oof.pred_probs, labels, num_classes=c)}
    truth = read_manifest(audit).df
    score = train["noise_score"].to_numpy(float)
    rows = []
    for name, r in rates.items():
        verdict = A.triage(agr, labels, score, noise_rates=r)
        row = {"rates": name, "mean_rate": float(np.mean(r))}
        for tag, flag in (("", verdict == "noisy"), ("or_undecided_", np.isin(verdict, ["noisy", "hard-or-noisy"]))):
            t = pd.DataFrame({"video_id": train["video_id"], "m_score": score, "m_flag": flag})
            d = detection_table(t, truth, names=["m"]).iloc[0]
            row.update({f"{tag}{k}": float(d[k]) for k in ("n_flagged", "precision", "recall", "f1", "hard_retention")})
        row["true_rate"] = float(truth.loc[truth["split"] == "train", "is_noisy"].mean())
        rows.append(row)
    return rows


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--bench", required=True, help="the --out of a `dfer-curate bench` run (with fold heads)")
    args = p.parse_args(argv)
    out = []
    for audit in sorted(Path(args.bench).glob("*/audit")):
        if not (audit / B.OOF_FILE).exists():
            print(f"{audit}: no out-of-fold probabilities (bench --folds 0); left out", file=sys.stderr)
            continue
        out += [{"config": audit.parent.name, **r} for r in rates_compared(audit)]
    if not out:
        raise SystemExit(f"no audit run with out-of-fold probabilities under {args.bench}")
    cols = ["config", "rates", "mean_rate", "true_rate", "n_flagged", "precision", "recall", "f1", "hard_retention",
            "or_undecided_f1", "or_undecided_hard_retention"]
    print(pd.DataFrame(out)[cols].round(3).to_string(index=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
