"""Entry of the review dashboard: page config, session state, navigation. Nothing else.

Started by `dfer-curate review RUN` (which runs `streamlit run app/main.py`)."""

import sys
from pathlib import Path

# A checkout without `pip install -e .` still finds the `curation` and `app` packages.
_ROOT = str(Path(__file__).resolve().parent.parent)
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)

import streamlit as st  # noqa: E402

from app import state  # noqa: E402

st.set_page_config(page_title="dfer-curate review", layout="wide")
state.init()

pages = [
    st.Page(state.PAGES["queue"], title="Queue", icon=":material/list:", default=True),
    st.Page(state.PAGES["video"], title="Video", icon=":material/movie:"),
    st.Page(state.PAGES["overview"], title="Overview", icon=":material/grid_on:"),
    st.Page(state.PAGES["export"], title="Export", icon=":material/download:"),
]
st.navigation(pages).run()
