"""Entry point: ``streamlit run dashboard/app.py``. Sets up the page navigation only."""

from __future__ import annotations

import sys
from pathlib import Path

import streamlit as st

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # `streamlit run` puts dashboard/, not the project, on the path
    sys.path.insert(0, str(ROOT))

st.set_page_config(page_title="MTL Studio", page_icon="🧪", layout="wide")

pages = [
    st.Page("app_pages/experiment.py", title="Experiment", icon="🧪", default=True),
]
st.navigation(pages).run()
