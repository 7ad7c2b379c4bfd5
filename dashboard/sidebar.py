"""The sidebar: the experiment being edited in a few lines, and what classroom mode fixes."""

from __future__ import annotations

import streamlit as st

from dashboard import state
from dashboard.logic import draft_summary, md_escape


def sidebar() -> None:
    with st.sidebar:
        st.markdown("**Your experiment**")
        st.caption("  \n".join(md_escape(line) for line in draft_summary(state.draft())))
        hidden = sorted(state.hidden_controls())
        if hidden:
            st.info(
                md_escape(
                    f"Classroom mode: this link fixes {', '.join(hidden)}. Those settings are "
                    "hidden; everything else is yours to change."
                ),
                icon=":material/school:",
            )
        st.caption(
            "The address bar holds the whole experiment: copy it to share it. Add "
            "`&hide=optimizer,lr` to fix settings for a class."
        )
