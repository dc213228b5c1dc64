"""The bench's tables as markdown (BENCHMARKS.md) and its verdict on the issue's targets."""

from __future__ import annotations

import numpy as np
import pandas as pd

from curation.audit.baselines import CLEANLAB_FILTERS
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
    """The issue's done-when checks on one configuration, stated with their numbers."""
    det = tables["detection"]
    det = det[det["config"] == config]
    lines = []
    if det.empty:
        return [f"- configuration `{config}` was not run; no verdict."]
    ours = det[det["method"] == "ours"].iloc[0]
    cl = det[det["method"].str.startswith("cl_") & det["method"].str.split(" ").str[0].str[3:].isin(CLEANLAB_FILTERS)]
    best = cl.loc[cl["f1"].idxmax()]
    df1, dhr = ours["f1"] - best["f1"], ours["hard_retention"] - best["hard_retention"]
    ok = "met" if df1 >= 0.10 else "NOT met"
    lines.append(f"- F1: ours {ours['f1']:.3f} vs best cleanlab filter `{best['method']}` {best['f1']:.3f} "
                 f"(difference {df1:+.3f}; target +0.10): **{ok}**.")
    ok = "met" if dhr >= 0.15 else "NOT met"
    lines.append(f"- Hard retention: ours {ours['hard_retention']:.3f} vs `{best['method']}` "
                 f"{best['hard_retention']:.3f} (difference {dhr:+.3f}; target +0.15): **{ok}**.")
    down = tables["downstream"]
    down = down[down["config"] == config].set_index("labels") if not down.empty else down
    if len(down):
        o, orc, c = (down.loc[v, "uar"] * 100 for v in ("ours", "oracle", "cleanlab"))
        ok = "met" if (orc - o) <= 3 and o > c else "NOT met"
        lines.append(f"- Downstream UAR: ours {o:.1f}, oracle {orc:.1f} (gap {orc - o:.1f} points; target <= 3), "
                     f"cleanlab-cleaned {c:.1f}, noisy {down.loc['noisy', 'uar'] * 100:.1f}: **{ok}**.")
    cost = tables["cost"]
    cost = cost[cost["config"] == config]
    if len(cost) == 1:
        lines.append("- Cost: no K-fold run (--folds 0), so no ratio.")
    if len(cost) == 2 and np.isnan(cost.iloc[0]["wall_s"]):
        k = cost.iloc[1]
        lines.append(f"- Cost: cleanlab with K-fold out-of-fold probabilities took {k['wall_s']:.0f} s wall, "
                     f"{k['cpu_s']:.0f} s CPU; our audit's own time was not recorded in this run, so no ratio.")
    elif len(cost) == 2:
        k = cost.iloc[1]
        lines.append(f"- Cost: cleanlab with K-fold out-of-fold probabilities took {k['wall_ratio']:.2f}x the wall time "
                     f"({k['wall_s']:.0f} s vs {cost.iloc[0]['wall_s']:.0f} s) and {k['cpu_ratio']:.2f}x the CPU time "
                     f"({k['cpu_s']:.0f} s vs {cost.iloc[0]['cpu_s']:.0f} s) of our audit (one training run + scoring).")
    return lines


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
        f"{cfg['num_frames']} frames; training {cfg['epochs']} epochs max; "
        + (f"cleanlab's out-of-fold probabilities from {cfg['folds']} fold models. " if cfg["folds"] >= 2 else
           "**no fold models were trained (--folds 0): cleanlab got in-sample probabilities of the audit model.** ")
        + "Configurations (overrides of `SynthConfig`): "
        + "; ".join(f"`{n}` {SYNTH_CONFIGS[n] or '(defaults)'}" for n in cfg["configs"]) + ".",
        "",
        "## Verdict on the default configuration",
        "",
        *criteria(tables),
        "",
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
        "share of hard, correctly labelled videos not flagged; relabel accuracy = share of flagged, "
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
    lines += ["## Downstream: retrain on each label set, test on clean labels", "",
              "Same plain network (robust training off) for every label set; `ours` = train videos our "
              f"triage calls noisy relabelled to the suggestion (hard kept); `cleanlab` = videos "
              f"`cl_{cfg['cleanlab_filter']}` flags ({'out-of-fold' if cfg['folds'] >= 2 else 'in-sample'}) removed; "
              "`oracle` = true labels.", ""]
    lines += [markdown_table(tables["downstream"], 3) if len(tables["downstream"]) else "(not run)", ""]
    lines += ["## Cost: one audit against cleanlab with K-fold probabilities", "",
              "Wall time, CPU time (all threads) and peak RSS of the training child processes, measured "
              "in the same run; ratios are to our audit.", "",
              markdown_table(tables["cost"]), ""]
    for path, note in info.get("notes", {}).items():
        lines += [f"- `{path}`: {note}."]
    return "\n".join(lines) + "\n"
