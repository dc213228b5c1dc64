"""An export's provenance.json as HTML a person can read: the facts in a two-column table
(when, who, policy, counts, checkpoint), the thresholds and every hash folded away in
``<details>`` so they are one click away but never a wall of hex."""

from __future__ import annotations

import html
import json
import re

HASH = re.compile(r"^(sha256:)?[0-9a-f]{32,}$")
# known keys, in reading order, with their row titles
ROWS = {
    "created": "created", "time": "created", "who": "by", "annotators": "annotators", "host": "host",
    "policy": "policy", "policy_scope": "applies to", "formats": "formats", "run": "run",
    "dataset_root": "video folder", "label_index": "label index",
}
FOLDED = {"thresholds": "Thresholds", "inputs_sha256": "Input files (SHA-256)", "inputs": "Input files (SHA-256)",
          "files": "Exported files (SHA-256)", "config": "Configuration at export", "export_config": "Export options"}


def _e(x) -> str:
    return html.escape(str(x), quote=True)


def _short(value) -> str:
    """A hash as its first 12 hex digits (the whole in a tooltip); anything else as text."""
    s = str(value)
    if HASH.match(s):
        digits = s.split(":")[-1]
        return f"<code title='{_e(s)}'>{_e(digits[:12])}…</code>"
    return _e(s)


def _value(v) -> str:
    if isinstance(v, (list, tuple)):
        return ", ".join(_short(x) for x in v) or "—"
    if isinstance(v, dict):
        if not v:
            return "—"
        if all(not isinstance(x, (dict, list)) for x in v.values()):
            return ", ".join(f"{_e(k)} {_short(x)}" for k, x in v.items())
        return f"<pre>{_e(json.dumps(v, indent=2, default=str))}</pre>"
    return _short(v) if v is not None else "—"


def _kv(rows: list[tuple[str, str]], cls: str = "kv") -> str:
    body = "".join(f"<tr><th>{_e(k)}</th><td>{v}</td></tr>" for k, v in rows)
    return f"<table class='{cls}'><tbody>{body}</tbody></table>"


def _counts(c: dict) -> list[tuple[str, str]]:
    rows = []
    main = {k: c[k] for k in ("videos", "kept", "changed", "relabelled", "excluded") if k in c}
    if main:
        rows.append(("videos", ", ".join(f"{_e(v)} {_e(k)}" for k, v in main.items())))
    for key, title in (("by_action", "decisions"), ("by_label_source", "label source"),
                       ("excluded_by_reason", "excluded because")):
        if key in c:
            rows.append((title, _value(c[key])))
    rest = {k: v for k, v in c.items() if k not in main and k not in ("by_action", "by_label_source",
                                                                          "excluded_by_reason")}
    rows += [(k.replace("_", " "), _value(v)) for k, v in rest.items()]
    return rows


def export_card(p: dict) -> str:
    """One export's provenance (a provenance.json dict, plus ``stamp``) as HTML."""
    rows = [(ROWS[k], _value(p[k])) for k in ROWS if k in p]
    if isinstance(p.get("counts"), dict):
        rows += _counts(p["counts"])
    ck = p.get("checkpoint")
    if isinstance(ck, dict):
        rows.append(("checkpoint", f"{_e(ck.get('path', ''))} {_short(ck['sha256']) if 'sha256' in ck else ''}"))
    dec = p.get("decisions")
    if isinstance(dec, dict):
        rows.append(("decision log", f"{_e(dec.get('events', 0))} events"
                     + (f", {_short(dec['events_sha256'])}" if dec.get("events_sha256") else "")))
    shown = set(ROWS) | {"counts", "checkpoint", "decisions", "stamp", "classes", "tool"} | set(FOLDED)
    rows += [(k.replace("_", " "), _value(v)) for k, v in p.items() if k not in shown and not isinstance(v, dict)]
    folded = []
    for key, title in FOLDED.items():
        v = p.get(key)
        if isinstance(v, dict) and v:
            inner = (_kv([(k, f"<code>{_e(x)}</code>" if HASH.match(str(x)) else _value(x)) for k, x in v.items()],
                         cls="kv hashes")
                     if all(not isinstance(x, (dict, list)) for x in v.values())
                     else f"<pre>{_e(json.dumps(v, indent=2, default=str))}</pre>")
            folded.append(f"<details><summary>{_e(title)} ({len(v)})</summary>{inner}</details>")
    folded += [f"<details><summary>{_e(k)}</summary><pre>{_e(json.dumps(v, indent=2, default=str))}</pre></details>"
               for k, v in p.items() if isinstance(v, dict) and k not in shown]
    stamp = _e(p.get("stamp", ""))
    return (f"<div class='export' data-export='{stamp}'><h4><code>{stamp}</code></h4>{_kv(rows)}"
            f"{''.join(folded)}</div>")
