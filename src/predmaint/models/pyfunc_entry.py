"""Model-from-code entry point that MLflow copies next to the model and runs when loading it."""

from mlflow.models import set_model

from predmaint.models.classifier import FailureClassifier

set_model(FailureClassifier())
