"""Entry point: ``streamlit run dashboard/app.py``. Sets up the page navigation only."""

from __future__ import annotations

import sys
from pathlib import Path

import streamlit as st

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # `streamlit run` puts dashboard/, not the project, on the path
    sys.path.insert(0, str(ROOT))

from dashboard import runs_client, state, ui  # noqa: E402
from dashboard.sidebar import sidebar  # noqa: E402

st.set_page_config(page_title="MTL Studio", page_icon="🧪", layout="wide")

PAGES = [
    st.Page("app_pages/data.py", title="Data", icon="📊", default=True),
    st.Page("app_pages/model.py", title="Model", icon="🧠"),
    st.Page("app_pages/train.py", title="Train", icon="🏋️"),
    st.Page("app_pages/compare.py", title="Compare", icon="⚖️"),
    st.Page("app_pages/representations.py", title="Representations", icon="🔭"),
    st.Page("app_pages/runs.py", title="Runs", icon="🗂️"),
]

state.start_session()
runs_client.warm_up_in_background()
page = st.navigation(PAGES)
with ui.guard("the sidebar"):
    sidebar()
state.show_url_problems()
with ui.guard(page.title):
    page.run()
state.sync_url()
