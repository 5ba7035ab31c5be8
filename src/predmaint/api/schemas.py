"""Request and response models of the API; sensor rules come from ``SENSOR_RANGES`` only.

The request model is strict (a number must be a JSON number, not ``"298.5"`` or ``true``) and
refuses NaN and infinity, so nothing implausible reaches the model. The bounds are read from
:data:`predmaint.data.columns.SENSOR_RANGES`, the same rules the batch job's pandera schema
applies, and they appear in the OpenAPI schema (Swagger shows them, schemathesis fuzzes them).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, JsonValue, field_validator
from pydantic.dataclasses import dataclass
from pydantic_core import PydanticCustomError

from predmaint.data.columns import (
    AIR_TEMPERATURE,
    MACHINE_ID_MAX_LENGTH,
    PROCESS_TEMPERATURE,
    ROTATIONAL_SPEED,
    SENSOR_COLUMNS,
    SENSOR_RANGES,
    TOOL_WEAR,
    TORQUE,
)
from predmaint.features.mechanisms import FailureMode
from predmaint.inference.risk import RiskLevel
from predmaint.models.versions import ModelVersion

#: The spec's curl example ("APIs de Inferência"): the body Swagger's "Try it out" starts from.
SPEC_EXAMPLE: dict[str, int | float] = {
    AIR_TEMPERATURE: 298.5,
    PROCESS_TEMPERATURE: 308.9,
    ROTATIONAL_SPEED: 1551,
    TORQUE: 42.8,
    TOOL_WEAR: 108,
}

PROBABILITY_MEANING = (
    "Confidence in the predicted class: the failure probability when `prediction` is 1, one "
    "minus it when `prediction` is 0 (the spec's example pairs prediction 0 with 0.92). The raw "
    "score is `failure_probability`."
)


def sensor_field(name: str) -> Any:
    """The pydantic field of one sensor: its plausible range, unit and description."""
    rule = SENSOR_RANGES[name]
    return Field(
        description=f"{rule.description} [{rule.unit}]; plausible range {rule.rule}.",
        examples=[SPEC_EXAMPLE[name]],
        json_schema_extra={"unit": rule.unit},
        ge=rule.low if rule.low_inclusive else None,
        gt=None if rule.low_inclusive else rule.low,
        le=rule.high,
    )


class SensorReading(BaseModel):
    """One reading of the five sensors, in the units of AI4I 2020 (kelvin, rpm, Nm, min)."""

    model_config = ConfigDict(
        strict=True,
        allow_inf_nan=False,
        json_schema_extra={"examples": [dict(SPEC_EXAMPLE)]},
    )

    air_temperature: float = sensor_field(AIR_TEMPERATURE)
    process_temperature: float = sensor_field(PROCESS_TEMPERATURE)
    rotational_speed: float = sensor_field(ROTATIONAL_SPEED)
    torque: float = sensor_field(TORQUE)
    tool_wear: float = sensor_field(TOOL_WEAR)
    # Optional, after the sensors: where and when the reading was taken (batch files' columns).
    machine_id: str | None = Field(
        default=None,
        min_length=1,
        max_length=MACHINE_ID_MAX_LENGTH,
        pattern=r"\S",
        description="The machine that sent the reading (not AI4I's product_id, a product serial).",
        examples=["L-001"],
    )
    timestamp: datetime | None = Field(
        default=None,
        strict=False,  # a JSON string, also where the body arrives parsed (/predict/batch)
        description="When the reading was taken, ISO 8601 (UTC when no offset is given).",
        examples=["2026-11-25T08:30:00Z"],
    )

    @field_validator("timestamp", mode="before")
    @classmethod
    def _timestamp_is_text(cls, value: Any) -> Any:
        """Lax parsing would read a number as Unix time; only ISO 8601 text is a timestamp."""
        if value is not None and not isinstance(value, str | datetime):
            raise PydanticCustomError("datetime_type", "Input should be a valid datetime")
        return value

    def values(self) -> tuple[float, float, float, float, float]:
        """The values in model order (:data:`SENSOR_COLUMNS`)."""
        return (
            self.air_temperature,
            self.process_temperature,
            self.rotational_speed,
            self.torque,
            self.tool_wear,
        )


assert tuple(SensorReading.model_fields)[: len(SENSOR_COLUMNS)] == SENSOR_COLUMNS, (
    "the sensors come first, in the model's order"
)


UTILISATION_MEANING = (
    "How much of the documented limit the reading uses: value/limit for a maximum, "
    "2 − value/limit for a minimum (clipped at 0), the larger of both for the power window. "
    "1 is the limit itself; ≥ 1 means the documented rule holds for this quantity (HDF needs "
    "both of its entries ≥ 1)."
)


class DiagnosisItem(BaseModel):
    """One documented failure mechanism of AI4I 2020 for this reading."""

    mode: FailureMode = Field(description="The failure mode the mechanism belongs to.")
    quantity: str = Field(
        description="temp_difference, rotational_speed, power, overstrain or tool_wear."
    )
    value: float = Field(description="The reading's value of the quantity.")
    limit: float = Field(description="The documented limit (for power: the bound in play).")
    unit: str
    utilisation: float = Field(ge=0.0, description=UTILISATION_MEANING)
    message: str = Field(description="The entry in words (the answer's language).")


#: The diagnosis of the spec's example reading (Portuguese texts), shown in the OpenAPI examples.
_EXAMPLE_DIAGNOSIS: list[JsonValue] = [
    {
        "mode": "HDF",
        "quantity": "temp_difference",
        "value": 10.4,
        "limit": 8.6,
        "unit": "K",
        "utilisation": 0.7907,
        "message": "Diferença de temperatura processo−ar 10.4 K: 79% do limite "
        "(HDF abaixo de 8.6 K com rotação abaixo de 1380 rpm)",
    },
    {
        "mode": "HDF",
        "quantity": "rotational_speed",
        "value": 1551.0,
        "limit": 1380.0,
        "unit": "rpm",
        "utilisation": 0.8761,
        "message": "Rotação 1551 rpm: 88% do limite (HDF abaixo de 1380 rpm com diferença de "
        "temperatura abaixo de 8.6 K)",
    },
    {
        "mode": "PWF",
        "quantity": "power",
        "value": 6951.591,
        "limit": 9000.0,
        "unit": "W",
        "utilisation": 0.7724,
        "message": "Potência 6952 W: 77% do limite (PWF acima de 9000 W)",
    },
    {
        "mode": "OSF",
        "quantity": "overstrain",
        "value": 4622.4,
        "limit": 11000.0,
        "unit": "min·Nm",
        "utilisation": 0.4202,
        "message": "Desgaste × torque 4622 min·Nm: 42% do limite (OSF acima de 11000 min·Nm)",
    },
    {
        "mode": "TWF",
        "quantity": "tool_wear",
        "value": 108.0,
        "limit": 200.0,
        "unit": "min",
        "utilisation": 0.54,
        "message": "Desgaste da ferramenta 108 min: 54% do limite (TWF na janela de troca "
        "200–240 min)",
    },
]


class Prediction(BaseModel):
    """The spec's answer (four fields) plus what an operator needs to trace and act on it."""

    prediction: Literal[0, 1] = Field(description="1: failure predicted (threshold applied).")
    probability: float = Field(ge=0.0, le=1.0, description=PROBABILITY_MEANING)
    risk_level: RiskLevel = Field(
        description="Baixo or Médio when prediction is 0; Alto or Crítico when it is 1."
    )
    recommendation: str = Field(description="What to do (Portuguese by default, as in the spec).")
    failure_probability: float = Field(ge=0.0, le=1.0, description="Model score of class 1.")
    model_version: str = Field(description="Registry version of the model that answered.")
    prediction_id: str = Field(
        description="This answer's id (a ULID): send it back with the outcome to POST /feedback."
    )
    failure_mode: FailureMode | None = Field(
        description="The most likely failure mode when `prediction` is 1 (a model trained on "
        "the data's mode labels); null when it is 0 or the model version has no mode model."
    )
    failure_mode_probability: float | None = Field(
        ge=0.0, le=1.0, description="The mode model's probability of `failure_mode`."
    )
    diagnosis: list[DiagnosisItem] = Field(
        description="Every documented mechanism (HDF twice: temperature and speed, PWF, OSF, "
        "TWF) with its value, limit and utilisation, whatever the prediction."
    )

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "prediction": 0,
                    "probability": 0.92,
                    "risk_level": "Baixo",
                    "recommendation": "Operação normal. Continuar monitoramento.",
                    "failure_probability": 0.08,
                    "model_version": "1",
                    "failure_mode": None,
                    "failure_mode_probability": None,
                    "diagnosis": _EXAMPLE_DIAGNOSIS,
                    "prediction_id": "01JQ8Z6M4T5R2X9V0K3B7N1C8D",
                }
            ]
        }
    )


class BatchPrediction(BaseModel):
    predictions: list[Prediction] = Field(description="One answer per reading, in order.")
    count: int
    model_version: str


def batch_request_model(max_readings: int) -> type[BaseModel]:
    """``{"readings": [...]}`` with at most ``max_readings`` (a setting, hence built per app)."""

    class BatchRequest(BaseModel):
        model_config = ConfigDict(strict=True)
        readings: Annotated[
            list[SensorReading],
            Field(
                min_length=1,
                max_length=max_readings,
                description=f"1 to {max_readings} readings (PREDMAINT_API_BATCH_MAX).",
            ),
        ]

    return BatchRequest


class Health(BaseModel):
    status: Literal["ok"] = "ok"


class Readiness(BaseModel):
    status: Literal["ready"] = "ready"
    model_version: str
    registry: str = Field(description="'reachable', or why the last alias check failed.")
    last_check: str | None = Field(description="UTC time of the last alias check.")


@dataclass(frozen=True)
class ModelInfo(ModelVersion):
    """The served model as the registry describes it, and how this replica executes it.

    The registry's fields are inherited from the one record of a registered version
    (``predmaint.models.versions.ModelVersion``), so the answer cannot drift from it.
    """

    loaded_at: str
    runtime: Annotated[
        Literal["onnxruntime", "sklearn"],
        Field(
            description="onnxruntime: compiled pipeline; sklearn: fallback (see runtime_detail)."
        ),
    ]
    runtime_detail: str
    registry: str
    poll_interval_s: float


class Problem(BaseModel):
    detail: str
