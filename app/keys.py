"""Keyboard shortcuts of the video page, in one place: the page binds them, lists them, and
the browser tests press them.

Buttons take their key through Streamlit's own ``st.button(shortcut=...)`` (ignored while a
text field has focus, so a note can be typed). Replay has no button: a small script on the
page restarts the player. Streamlit reserves C and R; punctuation is not supported.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

KEYS = {
    "accept": "A",  # relabel to the suggested class
    "keep": "K",  # keep the given label
    "exclude": "X",
    "undo": "U",  # undo the last decision
    "next": "N",
    "previous": "P",
    "queue": "Q",
    "replay": "V",  # restart the video (handled by page_script)
}
MAX_CLASS_KEYS = 9  # classes 1..9 get a digit; more classes go through the "Relabel to" box


def class_key(index: int) -> str | None:
    """The digit that relabels to the class at ``index`` (0-based), None past nine."""
    return str(index + 1) if 0 <= index < MAX_CLASS_KEYS else None


def legend(classes: Sequence[str]) -> str:
    """The one line that lists every key, shown under the decision buttons."""
    last = min(len(classes), MAX_CLASS_KEYS)
    return (f"**Keys** · {KEYS['accept']} relabel to the suggestion · {KEYS['keep']} keep the given label · "
            f"1–{last} relabel to that class · {KEYS['exclude']} exclude · {KEYS['undo']} undo · "
            f"{KEYS['next']} next · {KEYS['previous']} previous · {KEYS['replay']} replay · "
            f"{KEYS['queue']} queue")


def page_script(token: str) -> str:
    """HTML for ``st.html(..., unsafe_allow_javascript=True)``: scrolls the page to the top
    whenever ``token`` changes (a new video is shown: Streamlit remounts changed HTML and runs
    its script again) and binds the replay key once per browser tab."""
    key = KEYS["replay"].lower()
    return f"""<span data-testid="review-top" data-token={json.dumps(str(token))}></span><script>
(() => {{
  const main = document.querySelector('[data-testid="stMain"]');
  if (main) main.scrollTo({{top: 0}});
  window.scrollTo({{top: 0}});
  if (window.__dferReplay) return;
  window.__dferReplay = true;
  document.addEventListener('keydown', (e) => {{
    const t = e.target;
    if (e.ctrlKey || e.metaKey || e.altKey || (t && (t.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(t.tagName)))) return;
    if (e.key.toLowerCase() !== {json.dumps(key)}) return;
    const v = document.querySelector('[data-testid="stVideo"] video, video');
    if (v) {{ v.currentTime = 0; v.play(); e.preventDefault(); }}
  }});
}})();
</script>"""
