"""The registered model: a pyfunc around the scikit-learn pipeline and its tuned threshold.

Input: a DataFrame with the five sensor columns. Output: a DataFrame with ``prediction`` (0/1,
threshold applied), ``failure_probability``, and the most likely ``failure_mode`` of a predicted
failure with its ``failure_mode_probability`` (missing when the prediction is 0, or when the
version was trained before the mode model existed: :mod:`predmaint.models.modes`). Logged "from
code" (``pyfunc_entry.py``), so no pickle of Python code is stored; the pipelines themselves are
saved with skops.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from mlflow.models import ModelSignature
from mlflow.pyfunc import PythonModel, PythonModelContext
from mlflow.types.schema import AnyType, ColSpec, Schema

from predmaint.data.columns import SENSOR_COLUMNS

#: The pyfunc artifact holding the failure-mode pipeline (absent in older versions).
MODES_ARTIFACT = "modes"


def accepting_integers(signature: ModelSignature) -> ModelSignature:
    """``signature`` with each sensor column typed "any": the model converts them itself.

    MLflow's schema check refuses an int64 column where the schema says double ("can not safely
    convert int64 to float64"), and speed (rpm) and tool wear (min) are integers in the AI4I
    file, so ``pd.read_csv`` gives int64 columns. :meth:`FailureClassifier.predict` converts
    every sensor column to float64 and refuses a non-numeric one by name.
    """
    inputs = Schema([ColSpec(AnyType(), name) for name in SENSOR_COLUMNS])
    return ModelSignature(inputs=inputs, outputs=signature.outputs)


class FailureClassifier(PythonModel):
    """Applies the threshold tuned on validation data to the pipeline's failure probability."""

    pipeline: Any
    threshold: float
    modes: Any = None  # the failure-mode pipeline; None in versions trained without one

    def load_context(self, context: PythonModelContext) -> None:
        import mlflow.sklearn

        self.pipeline = mlflow.sklearn.load_model(context.artifacts["pipeline"])
        self.threshold = float(context.model_config["threshold"])
        if MODES_ARTIFACT in context.artifacts:
            self.modes = mlflow.sklearn.load_model(context.artifacts[MODES_ARTIFACT])

    # A DataFrame hint: MLflow leaves it to the explicit signature given at logging time (other
    # hints make MLflow try to derive a signature; none at all makes it warn on every load).
    def predict(
        self, context: Any, model_input: pd.DataFrame, params: dict[str, Any] | None = None
    ) -> pd.DataFrame:
        frame = pd.DataFrame(model_input)
        missing = [c for c in SENSOR_COLUMNS if c not in frame.columns]
        if missing:
            raise ValueError(f"missing sensor column(s): {', '.join(missing)}")
        sensors = np.empty((len(frame), len(SENSOR_COLUMNS)), dtype=np.float64)
        not_numbers = []
        for position, column in enumerate(SENSOR_COLUMNS):  # integers (rpm, min) become floats
            try:
                sensors[:, position] = frame[column].to_numpy(dtype=np.float64)
            except (TypeError, ValueError):
                not_numbers.append(column)
        if not_numbers:
            raise ValueError(f"sensor column(s) {', '.join(not_numbers)} must hold numbers")
        probability = np.asarray(self.pipeline.predict_proba(sensors)[:, 1], dtype=np.float64)
        prediction = (probability >= self.threshold).astype(np.int64)
        mode = np.full(len(frame), None, dtype=object)
        mode_probability = np.full(len(frame), np.nan)
        failing = prediction == 1
        if self.modes is not None and failing.any():
            proba = self.modes.predict_proba(sensors[failing])
            best = proba.argmax(axis=1)
            mode[failing] = np.asarray(self.modes.classes_, dtype=object)[best]
            mode_probability[failing] = proba[np.arange(len(best)), best]
        return pd.DataFrame(
            {
                "prediction": prediction,
                "failure_probability": probability,
                "failure_mode": mode,
                "failure_mode_probability": mode_probability,
            },
            index=frame.index,
        )
