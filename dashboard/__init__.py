"""MTL Studio's Streamlit dashboard: pages and chart builders, no training logic."""
