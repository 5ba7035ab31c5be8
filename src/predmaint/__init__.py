"""predmaint: MLOps for industrial predictive maintenance (AI4I 2020)."""

__version__ = "0.1.0"
