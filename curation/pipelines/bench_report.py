"""The bench's tables as markdown (BENCHMARKS.md) and its verdict on the issue's targets."""

from __future__ import annotations

import numpy as np
import pandas as pd

from curation.audit.baselines import CLEANLAB_FILTERS
from curation.audit.compare import strongest_baseline
from curation.pipelines.bench_config import SYNTH_CONFIGS


def markdown_table(df: pd.DataFrame, digits: int = 2) -> str:
    def fmt(v):
        if isinstance(v, (float, np.floating)):
            return "–" if np.isnan(v) else f"{v:.{digits}f}"
        return str(v)

    head = "| " + " | ".join(df.columns) + " |"
    sep = "|" + "|".join("---" for _ in df.columns) + "|"
    body = ["| " + " | ".join(fmt(v) for v in r) + " |" for r in df.itertuples(index=False)]
    return "\n".join([head, sep, *body])


def criteria(tables: dict, config: str = "default") -> list[str]:
    """The done-when checks of docs/ARCHITECTURE.md ("Evaluation") on one configuration,
    stated with their numbers: F1 at least cleanlab's best filter's, higher hard retention at
    our flag count, noisy-vs-hard AUROC >= 0.95 and 0.03 above every baseline, curated
    retraining 3 points above the noisy labels and within 2 of the true ones, and the cost."""
    det = tables["detection"]
    det = det[det["config"] == config]
    if det.empty:
        return [f"- configuration `{config}` was not run; no verdict."]
    lines = []
    ours = det[det["method"] == "ours"].iloc[0]
    cl = det[det["method"].str.split(" ").str[0].str[3:].isin(CLEANLAB_FILTERS) & det["method"].str.startswith("cl_")]
    if (~cl["method"].str.endswith("(in-sample)")).any():  # the same out-of-fold probabilities when there are folds
        cl = cl[~cl["method"].str.endswith("(in-sample)")]
    best = cl.loc[cl["f1"].idxmax()]
    df1 = ours["f1"] - best["f1"]
    lines.append(f"- F1: ours {ours['f1']:.3f} vs best cleanlab filter `{best['method']}` {best['f1']:.3f} "
                 f"(difference {df1:+.3f}; target >= 0): **{_met(df1 >= 0)}**.")
    if "hard_ret_at_ours_n" in det.columns:
        at = best["hard_ret_at_ours_n"]
        lines.append(f"- Hard retention at our {int(ours['n_flagged'])} flags: ours {ours['hard_retention']:.3f} vs "
                     f"`{best['method']}`'s top {int(ours['n_flagged'])} {at:.3f} (difference "
                     f"{ours['hard_retention'] - at:+.3f}; target > 0): **{_met(ours['hard_retention'] > at)}**.")
    if "noisy_vs_hard_auroc" in det.columns:
        top = strongest_baseline(det)
        if top is not None:
            name, top_nvh = top
            o = ours["noisy_vs_hard_auroc"]
            ok = o >= 0.95 and o - top_nvh >= 0.03
            lines.append(f"- Noisy-vs-hard AUROC: ours {o:.3f} vs best baseline `{name}` "
                         f"{top_nvh:.3f} (difference {o - top_nvh:+.3f}; target "
                         f">= 0.95 and +0.03): **{_met(ok)}**.")
    lines += _verdict_criteria(tables.get("verdicts", pd.DataFrame()), config)
    down = tables["downstream"]
    down = down[down["config"] == config].set_index("labels") if not down.empty else down
    if len(down):
        o, orc, c, n = (down.loc[v, "uar"] * 100 for v in ("ours", "oracle", "cleanlab", "noisy"))
        ok = o - n >= 3 and orc - o <= 2
        lines.append(f"- Curated retraining, test UAR: ours {o:.1f}, noisy {n:.1f} ({o - n:+.1f} points; target "
                     f">= +3), oracle {orc:.1f} (gap {orc - o:.1f}; target <= 2), cleanlab-cleaned {c:.1f}: "
                     f"**{_met(ok)}**.")
    cost = tables["cost"].reset_index(drop=True)
    cost = cost[cost["config"] == config].set_index("pipeline")
    if cost.empty:
        return lines
    if np.isnan(cost.iloc[0]["wall_s"]):
        return lines + ["- Cost: our audit's own time was not recorded in this run, so no ratio."]
    ours_wall, ours_cpu = cost.iloc[0]["wall_s"], cost.iloc[0]["cpu_s"]
    for name, row in cost.iloc[1:].iterrows():
        lines.append(f"- Cost: {name}: {row['wall_s']:.0f} s wall, {row['cpu_s']:.0f} s CPU; our audit "
                     f"{ours_wall:.0f} s wall, {ours_cpu:.0f} s CPU ({ours_wall / max(row['wall_s'], 1e-9):.2f}x the "
                     f"wall time, {ours_cpu / max(row['cpu_s'], 1e-9):.2f}x the CPU time).")
    if len(cost) == 1:
        lines.append("- Cost: no K-fold run (--folds 0) and no retraining, so no ratio.")
    return lines


SEEN_MARK = "†"
SEEN_NOTE = (f"{SEEN_MARK} the frame encoder learned the test labels (the default: it learns every split's, so every "
             "split is audited alike): that test UAR is no held-out measurement.")


def uar_seen(result: dict) -> bool:
    """Whether a benchmark result's ``test_uar`` comes from a model whose encoder learned the
    test labels (``test_uar_held_out`` False; results from before the flag were held out)."""
    return not result.get("test_uar_held_out", True)


def uar_cell(result: dict) -> str:
    """A result's test UAR for a report table, marked when the model has seen the test labels."""
    return f"{result['test_uar']:.3f}" + (SEEN_MARK if uar_seen(result) else "")


def _met(ok) -> str:
    return "met" if ok else "NOT met"


def _path_words(cfg: dict, encoder_splits) -> str:
    epochs = f"{cfg['epochs']} epochs max" if cfg.get("epochs") else "the default epochs (early stopping)"
    if cfg.get("frozen"):
        return (f"Audit path: the default one, `pretrain --given-labels` (the set's {', '.join(encoder_splits)} labels) "
                f"then `embed` then `train --frozen`, {epochs}; every retraining below runs the same path on its labels, "
                "its encoder learning train and val only, so its test UAR is a measurement. ")
    return f"Audit path: the whole network trained on pixels (`bench --pixels`), {epochs}. "


def _verdict_criteria(verdicts: pd.DataFrame, config: str) -> list[str]:
    """What an annotator meets in each split: clean, easy videos flagged <= 3 % and videos
    called hard truly hard >= 0.60 (metrics.verdicts_by_split)."""
    if verdicts.empty or not (verdicts["config"] == config).any():
        return []
    v = verdicts[verdicts["config"] == config]
    easy = "; ".join(f"{r.split} {r.clean_easy_flagged:.1%}" for r in v.itertuples())
    hard = "; ".join(f"{r.split} {r.hard_precision:.2f}" for r in v.itertuples())
    return [f"- Clean, easy videos sent to review (noisy or hard-or-noisy): {easy} (target <= 3 % in every split): "
            f"**{_met(bool((v['clean_easy_flagged'] <= 0.03).all()))}**.",
            f"- Videos called hard that are truly hard and correctly labelled: {hard} (target >= 0.60 in every "
            f"split): **{_met(bool((v['hard_precision'] >= 0.60).all()))}**."]


def verdict_rows(out, configs) -> list[dict]:
    """Per configuration and split of the bench in ``out``, what an annotator meets in the
    audit run (metrics.verdicts_by_split against the manifest's truth)."""
    from pathlib import Path

    from curation.audit.metrics import verdicts_by_split
    from curation.runs import RunDir

    rows = []
    for name in configs:
        run = RunDir(Path(out) / name / "audit")
        table = verdicts_by_split(run.read_scores(), run.read_manifest().df)
        rows += [{"config": name, **r} for r in table.to_dict("records")]
    return rows


def rerender(out) -> str:
    """BENCHMARKS.md again from the tables and bench.json a bench wrote into ``out`` (after a
    change to this report; the measurements are not touched)."""
    from pathlib import Path

    from curation.errors import RunError
    from curation.fileio import read_json

    out = Path(out)
    missing = [f for f in ("detection.csv", "downstream.csv", "cost.csv", "bench.json") if not (out / f).exists()]
    if missing:
        raise RunError(f"{out} lacks {', '.join(missing)}: run `dfer-curate bench --out {out}` first")
    tables = {k: _read_table(out / f"{k}.csv") for k in ("detection", "downstream", "cost", "model", "verdicts")}
    info = read_json(out / "bench.json")
    if tables["verdicts"].empty and all((out / n / "audit" / "scores.parquet").exists() for n in info["config"]["configs"]):
        from curation.fileio import write_csv  # a bench from before verdicts.csv: from its audit runs

        tables["verdicts"] = pd.DataFrame(verdict_rows(out, info["config"]["configs"]))
        write_csv(out / "verdicts.csv", tables["verdicts"])
    return render_markdown(tables, info)


def _read_table(path) -> pd.DataFrame:
    try:
        return pd.read_csv(path)
    except (FileNotFoundError, pd.errors.EmptyDataError):  # a table the bench left empty (e.g. no downstream)
        return pd.DataFrame()


def render_markdown(tables: dict, info: dict) -> str:
    cfg, mach = info["config"], info["machine"]
    det = tables["detection"].copy()
    lines = [
        "# Benchmarks: label-noise detection on synthetic DFER videos",
        "",
        "Written by `dfer-curate bench`; do not edit by hand. Reproduce with:",
        "",
        f"```bash\n{info['command']}\n```",
        "",
        f"Profile: **{'quick' if cfg['quick'] else 'full'}**; seed {cfg['seed']}; started {info['started']}; "
        f"wall time of this invocation {info['wall_s'] / 60:.1f} min"
        + (f" ({info['resumed_steps']} model steps were resumed from an earlier run with the same settings; "
           "their own times are in the tables below)." if info.get("resumed_steps") else "."),
        f"Machine: {mach['cpus']} CPUs ({mach['cpu']}), {mach['ram_gib']} GiB RAM, torch {mach['torch']}, "
        f"Python {mach['python']}, {mach['platform']}; load average at start {mach['load_avg_at_start']} "
        "(the machine was shared, so timings are upper bounds).",
        "",
        f"Sets: {cfg['n']} videos each (70/15/15 train/val/test, test clean), {cfg['size']} px, "
        f"{cfg['num_frames']} frames. " + _path_words(cfg, info.get("audit_encoder_splits", ("train", "val")))
        + (f"Cleanlab's out-of-fold probabilities come from {cfg['folds']} fold "
           + ("heads on the same embeddings (out of fold for the video network; the encoder learned every "
              "label it audits). " if cfg.get("frozen") else "models. ") if cfg["folds"] >= 2 else
           "**no fold models were trained (--folds 0): cleanlab got in-sample probabilities of the audit model.** ")
        + "Configurations (overrides of `SynthConfig`): "
        + "; ".join(f"`{n}` {SYNTH_CONFIGS[n] or '(defaults)'}" for n in cfg["configs"]) + ".",
        "",
        "## Verdict per configuration",
        "",
        *[line for name in cfg["configs"] for line in (f"### `{name}`", "", *criteria(tables, name), "")],
        "How well the audit model learned (best held-out accuracy over its epochs; given-label "
        "accuracy on train at the last epoch). Every detection number below rests on it.",
        "",
        markdown_table(tables["model"], 3) if len(tables.get("model", [])) else "(no training log)",
        "",
        *[f"**Warning: in `{r.config}` the audit model's held-out accuracy {r.heldout_acc:.2f} is not clearly above "
          f"chance ({r.chance:.2f}); its detection numbers compare noise, not methods.**\n"
          for r in tables.get("model", pd.DataFrame()).itertuples() if not r.heldout_acc >= 2 * r.chance],
        "## Noise detection (train split)",
        "",
        "Precision/recall/F1 of the flagged set; AUROC/AP of the continuous score; hard retention = "
        "share of hard, correctly labelled videos not flagged (`hard_ret_at_ours_n`: the same had the method flagged "
        "its top-scored videos, as many as ours flags); relabel accuracy = share of flagged, "
        "truly noisy videos whose suggested label is the true one (– where a method suggests none). "
        "`time_s`/`peak_mb`: the method's post-hoc step on saved model outputs (wall time; peak of "
        "traced Python/numpy allocations); for `ours` that is `curation.audit.agreement.audit` on the saved "
        "clip probabilities. FiftyOne's own work happens partly in mongod, which the trace does not see.",
        "",
    ]
    for what, why in info.get("skipped", {}).items():
        lines += [f"Left out: {what} ({why}).", ""]
    for name in cfg["configs"]:
        d = det[det["config"] == name].drop(columns=["config"])
        lines += [f"### `{name}`", "", markdown_table(d), ""]
    verdicts = tables.get("verdicts", pd.DataFrame())
    if len(verdicts):
        lines += ["## What an annotator meets, by split", "",
                  "The audit run's verdicts against the truth in every split: `clean_easy_flagged` = share of clean, "
                  "easy videos sent to review (`noisy` or `hard-or-noisy`); `hard_precision` = share of videos called "
                  "`hard` that are truly hard and correctly labelled; `auroc` = the noise score's AUROC where the split "
                  "holds noisy labels.", "", markdown_table(verdicts, 3), ""]
    lines += ["## Downstream: retrain on each label set, test on clean labels", "",
              "Same path and plain network (robust training off) for every label set; `ours` = train videos our "
              f"triage calls noisy relabelled to the suggestion (hard kept); `cleanlab` = videos "
              f"`cl_{cfg['cleanlab_filter']}` flags ({'out-of-fold' if cfg['folds'] >= 2 else 'in-sample'}) removed; "
              "`oracle` = true labels.", ""]
    lines += [markdown_table(tables["downstream"], 3) if len(tables["downstream"]) else "(not run)", ""]
    lines += ["## Cost: our audit, cleanlab with K-fold probabilities, one plain training", "",
              "Wall time, CPU time (all threads) and peak RSS of the training child processes, measured "
              "in the same run; ratios are to our audit.", "",
              markdown_table(tables["cost"]), ""]
    for path, note in info.get("notes", {}).items():
        lines += [f"- `{path}`: {note}."]
    return "\n".join(lines) + "\n"
