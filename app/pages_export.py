"""Export page: write a curated manifest with an explicit policy for unreviewed videos."""

import streamlit as st

from app import state
from curation.errors import CurationError
from curation.review.export import DEFAULT_POLICY, FORMATS, POLICIES, export, list_exports
from curation.fileio import read_json
from curation.review.queue import progress

POLICY_HELP = {
    "keep-given": "unreviewed flagged videos keep their given label",
    "accept-suggestions": "unreviewed noisy videos take the suggested label; hard ones keep theirs",
    "exclude-unreviewed": "unreviewed flagged videos (noisy or hard) are left out",
    "exclude-unreviewed-noisy": "unreviewed noisy videos are left out; hard ones are kept",
}

state.init()
run = state.run_dir()
ss = st.session_state
st.title("Export")
p = progress(state.table(run))
st.caption(f"{p['reviewed']} of {p['flagged']} flagged videos reviewed; decisions always win over the policy.")

policy = st.selectbox("Policy for unreviewed flagged videos", POLICIES, index=POLICIES.index(DEFAULT_POLICY),
                      format_func=lambda x: f"{x}: {POLICY_HELP[x]}", key="e_policy")
formats = st.multiselect("Formats", FORMATS, default=list(FORMATS), key="e_formats")
if st.button("Export", type="primary", key="e_export"):
    try:
        out = export(run.path, policy=policy, formats=formats, who=ss.annotator)
    except CurationError as exc:
        st.error(str(exc))
    else:
        ss.last_export = str(out)
        counts = read_json(out / "provenance.json")["counts"]
        st.success(f"Exported to {out}: {counts['kept']} videos kept, {counts['excluded']} excluded, "
                   f"{counts['changed']} relabelled.")

st.subheader("Exports of this run")
done = list_exports(run.path)
if not done:
    st.info("No exports yet.")
for d in done:
    prov = read_json(d / "provenance.json")
    c = prov["counts"]
    st.markdown(f"`{d}` · policy **{prov['policy']}** · by {prov['who']} at {prov['created']} · "
                f"{c['kept']} kept, {c['excluded']} excluded, {c['changed']} relabelled")
