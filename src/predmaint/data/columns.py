"""The column contract: names, units and plausible sensor ranges, defined once.

The pandera schemas, the feature transformer, the simulator and the API's request model all read
these constants, so a range or a name cannot disagree between batch and real time.
"""

from __future__ import annotations

from dataclasses import dataclass

AIR_TEMPERATURE = "air_temperature"
PROCESS_TEMPERATURE = "process_temperature"
ROTATIONAL_SPEED = "rotational_speed"
TORQUE = "torque"
TOOL_WEAR = "tool_wear"

#: The five raw sensor values every model takes, in this order.
SENSOR_COLUMNS: tuple[str, ...] = (
    AIR_TEMPERATURE,
    PROCESS_TEMPERATURE,
    ROTATIONAL_SPEED,
    TORQUE,
    TOOL_WEAR,
)
IDENTITY_COLUMNS: tuple[str, ...] = ("udi", "product_id", "type")
#: Where and when a reading was taken, both optional: the machine that sent it (AI4I's
#: ``product_id`` is a product serial, not a machine) and its time (ISO 8601; UTC when no offset).
MACHINE_ID = "machine_id"
TIMESTAMP = "timestamp"
PLANT_COLUMNS: tuple[str, ...] = (MACHINE_ID, TIMESTAMP)
MACHINE_ID_MAX_LENGTH = 64
TARGET = "machine_failure"
FAILURE_MODES: tuple[str, ...] = ("twf", "hdf", "pwf", "osf", "rnf")
LABEL_COLUMNS: tuple[str, ...] = (TARGET, *FAILURE_MODES)
MACHINE_TYPES: tuple[str, ...] = ("L", "M", "H")


@dataclass(frozen=True)
class SensorRange:
    """Plausible range of one sensor; values outside it are refused, not scored.

    The bounds are wider than anything in AI4I 2020 (see ``../shared/data/README.md``) but tight
    enough to catch unit mistakes: a temperature sent in °C (25.0) instead of kelvin is refused.
    """

    unit: str
    low: float
    high: float
    low_inclusive: bool = True
    description: str = ""

    @property
    def rule(self) -> str:
        left = "[" if self.low_inclusive else "("
        return f"{left}{self.low:g}, {self.high:g}] {self.unit}"


SENSOR_RANGES: dict[str, SensorRange] = {
    AIR_TEMPERATURE: SensorRange("K", 250.0, 350.0, description="Ambient air temperature"),
    PROCESS_TEMPERATURE: SensorRange("K", 250.0, 380.0, description="Process temperature"),
    ROTATIONAL_SPEED: SensorRange(
        "rpm", 0.0, 6000.0, low_inclusive=False, description="Spindle rotational speed"
    ),
    TORQUE: SensorRange("Nm", 0.0, 200.0, description="Torque"),
    TOOL_WEAR: SensorRange("min", 0.0, 400.0, description="Accumulated tool use"),
}


def finite_rule(name: str) -> str:
    """The reason a non-finite sensor value is refused (pandera schema and vectorised checks)."""
    return f"{name} must be a finite number"


def range_rule(name: str) -> str:
    """The reason a sensor value outside its plausible range is refused."""
    return f"{name} must be in {SENSOR_RANGES[name].rule}"


#: The reason a reading of an unknown machine type is refused.
TYPE_RULE = f"type must be one of {MACHINE_TYPES}"
#: The reasons a reading's plant columns are refused (a missing value is allowed: optional).
MACHINE_ID_RULE = (
    f"machine_id must be text of 1 to {MACHINE_ID_MAX_LENGTH} characters, not only spaces"
)
TIMESTAMP_RULE = "timestamp must be an ISO 8601 date-time, e.g. 2026-11-25T08:30:00Z"

#: UCI header (with units, as in the zip) -> snake_case name. The unit-less headers of UCI's
#: ``data.csv`` map through :func:`normalise_header`, which strips the ``[unit]`` suffix first.
_UCI_NAMES: dict[str, str] = {
    "udi": "udi",
    "product id": "product_id",
    "type": "type",
    "air temperature": AIR_TEMPERATURE,
    "process temperature": PROCESS_TEMPERATURE,
    "rotational speed": ROTATIONAL_SPEED,
    "torque": TORQUE,
    "tool wear": TOOL_WEAR,
    "machine failure": TARGET,
    "twf": "twf",
    "hdf": "hdf",
    "pwf": "pwf",
    "osf": "osf",
    "rnf": "rnf",
}


def normalise_header(name: str) -> str:
    """Map one UCI header (``Air temperature [K]`` or ``Air temperature``) to its contract name.

    Names already in snake_case pass through, so our own files load with the same function.
    """
    base = name.split("[", 1)[0].strip().lower()
    if base in _UCI_NAMES:
        return _UCI_NAMES[base]
    return base.replace(" ", "_")
