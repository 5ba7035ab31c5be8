"""The registered model: a pyfunc around the scikit-learn pipeline and its tuned threshold.

Input: a DataFrame with the five sensor columns. Output: a DataFrame with ``prediction`` (0/1,
threshold applied) and ``failure_probability``. Logged "from code" (``pyfunc_entry.py``), so no
pickle of Python code is stored; the pipeline itself is saved with skops.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from mlflow.models import ModelSignature
from mlflow.pyfunc import PythonModel, PythonModelContext
from mlflow.types.schema import AnyType, ColSpec, Schema

from predmaint.data.columns import SENSOR_COLUMNS


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

    def load_context(self, context: PythonModelContext) -> None:
        import mlflow.sklearn

        self.pipeline = mlflow.sklearn.load_model(context.artifacts["pipeline"])
        self.threshold = float(context.model_config["threshold"])

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
        return pd.DataFrame(
            {
                "prediction": (probability >= self.threshold).astype(np.int64),
                "failure_probability": probability,
            },
            index=frame.index,
        )
