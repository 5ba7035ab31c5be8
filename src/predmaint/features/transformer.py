"""The feature step as a scikit-learn transformer, first step of every model pipeline.

Models therefore take the five raw sensor values: the API, the batch job and training cannot
compute features differently (no train/serve skew).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin

from predmaint.data.columns import SENSOR_COLUMNS
from predmaint.features.formulas import MODEL_FEATURES, derive


class PhysicsFeatures(TransformerMixin, BaseEstimator):
    """Append the derived physics features to the five sensor values (stateless).

    Args:
        keep: the output features to keep, in order (default: all of ``MODEL_FEATURES``). A
            distance-based model such as the SVM does better on the few features that carry the
            documented failure mechanisms than on all eleven.
    """

    def __init__(self, keep: tuple[str, ...] | None = None) -> None:
        self.keep = keep

    def _columns(self) -> list[int]:
        if self.keep is None:
            return list(range(len(MODEL_FEATURES)))
        unknown = [name for name in self.keep if name not in MODEL_FEATURES]
        if unknown:
            raise ValueError(f"unknown feature(s) {unknown}; known: {MODEL_FEATURES}")
        return [MODEL_FEATURES.index(name) for name in self.keep]

    def fit(self, X: Any, y: Any = None) -> PhysicsFeatures:
        self.n_features_in_ = len(SENSOR_COLUMNS)
        return self

    def transform(self, X: Any) -> npt.NDArray[np.float64]:
        if isinstance(X, pd.DataFrame):
            missing = [c for c in SENSOR_COLUMNS if c not in X.columns]
            if missing:
                raise ValueError(f"missing sensor column(s): {', '.join(missing)}")
            sensors = X[list(SENSOR_COLUMNS)].to_numpy(dtype=np.float64)
        else:
            sensors = np.asarray(X, dtype=np.float64)
            if sensors.ndim != 2 or sensors.shape[1] != len(SENSOR_COLUMNS):
                raise ValueError(f"expected shape (n, {len(SENSOR_COLUMNS)}), got {sensors.shape}")
        full = np.hstack([sensors, derive(sensors)])
        return full if self.keep is None else full[:, self._columns()]

    def get_feature_names_out(self, input_features: Any = None) -> npt.NDArray[np.str_]:
        return np.asarray([MODEL_FEATURES[i] for i in self._columns()], dtype=object)

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.requires_fit = False
        return tags
