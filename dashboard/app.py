"""Entry point: ``streamlit run dashboard/app.py``. Sets up the page navigation only.

Everything runs under ``if __name__ == "__main__"``: Streamlit runs this file as
``__main__`` and leaves it installed as ``sys.modules["__main__"]``, so the run
workers (multiprocessing children) re-import it as ``__mp_main__``; the guard keeps
them from running the app.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # `streamlit run` puts dashboard/, not the project, on the path
    sys.path.insert(0, str(ROOT))


def main() -> None:
    import streamlit as st

    import dashboard

    st.set_page_config(page_title="MTL Studio", layout="wide")
    # Drawn before the imports below (pandas, plotly, the engine: seconds on a busy
    # machine, the first time): the user sees the page loading, not a blank tab. Only
    # while this server has not yet drawn the page: on later runs (every click) the
    # line would only push the page down and back.
    drawn: set[str] = dashboard.__dict__.setdefault("pages_drawn", set())
    loading = st.empty()
    if not drawn:
        loading.caption("Loading MTL Studio…")
    # The icon only now: Streamlit checks an emoji against its emoji table, whose first
    # import takes up to a second on a busy machine. An emoji icon is drawn in the page; a
    # ":material/...:" one is fetched from Google's font server on every visit (a request
    # to the internet, and a missing icon offline).
    st.set_page_config(page_icon="🧪")

    from dashboard import runs_client, state, ui
    from dashboard.sidebar import sidebar
    from mtlcore.runs._home import home_problem

    pages = [
        # Learn comes first; Data stays the landing page (the built-in dataset, ready to train).
        st.Page("app_pages/learn.py", title="Learn", icon=":material/school:"),
        st.Page("app_pages/data.py", title="Data", icon=":material/table_chart:", default=True),
        st.Page("app_pages/model.py", title="Model", icon=":material/hub:"),
        st.Page("app_pages/train.py", title="Train", icon=":material/model_training:"),
        st.Page("app_pages/compare.py", title="Compare", icon=":material/balance:"),
        st.Page("app_pages/sweep.py", title="Sweep", icon=":material/grid_view:"),
        st.Page("app_pages/predict.py", title="Predict", icon=":material/online_prediction:"),
        st.Page("app_pages/transfer.py", title="Transfer", icon=":material/share:"),
        st.Page(
            "app_pages/representations.py", title="Representations", icon=":material/scatter_plot:"
        ),
        st.Page("app_pages/runs.py", title="Runs", icon=":material/history:"),
    ]
    problem = home_problem()  # MTL_STUDIO_HOME a file: one sentence, not a traceback
    if problem:
        loading.empty()
        ui.error(f"MTL Studio cannot keep its runs: {problem}, then restart the dashboard.")
        st.stop()
    state.start_session()
    page = st.navigation(pages)
    if page.url_path not in drawn:
        loading.caption("Loading MTL Studio…")
    try:
        with ui.guard("the sidebar"):
            sidebar()
        state.show_url_problems()
        with ui.guard(page.title):
            page.run()  # its first run imports the page's modules; the loading line stays
    finally:
        loading.empty()
        drawn.add(page.url_path)
        # After the page is drawn: starting the workers (each imports torch) competes for
        # the cores with this first run; the first Train press still finds them warm.
        runs_client.warm_up_in_background()
    state.sync_url()


if __name__ == "__main__":
    main()
