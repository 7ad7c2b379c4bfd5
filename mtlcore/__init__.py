"""MTL Studio's engine: data, sharing strategies, weighting methods, training, results.

Plain Python and PyTorch; never imports Streamlit. See DESIGN.md for the layout.
"""

__version__ = "0.1.0"
