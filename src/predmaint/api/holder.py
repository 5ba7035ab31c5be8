"""The served model: loaded and compiled once, swapped atomically when the alias moves.

Requests read :attr:`ModelHolder.current` once and use that snapshot to the end, so a swap
never mixes two models in one answer and never fails a request. The registry is asked about
the alias from a background task every ``api_poll_interval_s`` seconds (in a worker thread:
MLflow calls block), never on a request. If the registry cannot be reached the holder keeps
the model it has and records why, which ``/ready`` and ``/model`` report.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass

from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

from predmaint.clock import utc_now
from predmaint.errors import TRAIN_HINT, ModelNotFoundError
from predmaint.models.compiled import Scorer
from predmaint.models.loading import load_version
from predmaint.models.mode_scorer import ModeScorer
from predmaint.models.tracking import CHAMPION, client
from predmaint.models.versions import ModelVersion, champion_info, not_found
from predmaint.settings import Settings

log = logging.getLogger(__name__)
REACHABLE = "reachable"
#: Registry answers meaning "no such model or alias" (anything else means it did not answer).
_ABSENT_CODES = {"RESOURCE_DOES_NOT_EXIST", "INVALID_PARAMETER_VALUE", "NOT_FOUND"}


@dataclass(frozen=True, slots=True)
class ServedModel:
    """A registered version (its registry record), compiled, with the threshold its answers
    apply (the loaded model's own, read once so the hot path does not ask the pyfunc) and its
    failure-mode model (None for a version trained without one)."""

    info: ModelVersion
    scorer: Scorer
    threshold: float
    loaded_at: str
    modes: ModeScorer | None = None


def load_served(settings: Settings, info: ModelVersion) -> ServedModel:
    """Load a registered version from MLflow and compile its pipeline (blocking, seconds)."""
    loaded = load_version(settings, info)
    _ = loaded.pyfunc  # the whole artifact must load: a broken one is reported, never served
    compiled = loaded.compiled  # from the compiled cache when the version has a valid entry
    loaded.attach_tree_code()  # single readings: the tree code, proved on the recorded probe
    log.info("loaded %s v%s (%s)", info.name, info.version, compiled.scorer.detail)
    loaded_at = utc_now().isoformat(timespec="seconds")
    return ServedModel(info, compiled.scorer, compiled.threshold, loaded_at, loaded.mode_scorer)


class ModelHolder:
    """Holds the champion and follows ``models:/<name>@champion``."""

    def __init__(
        self, settings: Settings, on_swap: Callable[[ServedModel], None] | None = None
    ) -> None:
        self.settings = settings
        self._on_swap = on_swap
        self.current: ServedModel | None = None
        self.registry_status = "not checked yet"
        self.last_check: str | None = None
        self.missing_reason = (
            f"no '{CHAMPION}' version of {settings.model_name} loaded yet: {TRAIN_HINT}"
        )
        self.reloads = 0
        self._task: asyncio.Task[None] | None = None
        self._client: MlflowClient | None = None

    def _champion_version(self) -> str:
        """The version the alias points at: one registry call on a client kept for polling."""
        if self._client is None:
            self._client = client(self.settings)
        version = self._client.get_model_version_by_alias(self.settings.model_name, CHAMPION)
        return str(version.version)

    def refresh(self) -> bool:
        """Ask the registry which version is champion; load it if it changed (blocking).

        Returns True when a new model was swapped in. Never raises: failures are recorded and
        the model already loaded (if any) keeps answering.
        """
        self.last_check = utc_now().isoformat(timespec="seconds")
        try:
            version = self._champion_version()
            current = self.current
            if current is not None and current.info.version == version:
                self.registry_status = REACHABLE
                return False
            info = champion_info(self.settings, CHAMPION)
        except (MlflowException, ModelNotFoundError) as exc:
            cause = exc.__cause__ if isinstance(exc, ModelNotFoundError) else exc
            if getattr(cause, "error_code", None) in _ABSENT_CODES:
                self.registry_status = REACHABLE
                self.missing_reason = str(not_found(self.settings, f"'{CHAMPION}' version"))
                return False
            self._unreachable(cause or exc)
            return False
        except Exception as exc:  # the registry is down or unreadable: keep what we have
            self._unreachable(exc)
            return False
        self.registry_status = REACHABLE
        try:
            served = load_served(self.settings, info)
        except Exception as exc:
            self.registry_status = f"could not load v{info.version}: {type(exc).__name__}: {exc}"
            log.exception("loading v%s failed, serving what is loaded", info.version)
            return False
        self.current = served  # one reference assignment: requests see the old or the new one
        self.reloads += 1
        if self._on_swap is not None:
            self._on_swap(served)
        return True

    def _unreachable(self, exc: BaseException) -> None:
        self.registry_status = f"unreachable: {type(exc).__name__}: {exc}"[:500]
        log.warning("registry check failed, serving what is loaded: %s", exc)

    async def poll(self) -> None:
        """Follow the alias until cancelled."""
        while True:
            await asyncio.sleep(self.settings.api_poll_interval_s)
            await asyncio.to_thread(self.refresh)

    async def start(self) -> None:
        """First load (before the server accepts connections), then the polling task."""
        await asyncio.to_thread(self.refresh)
        self._task = asyncio.create_task(self.poll(), name="predmaint-model-poll")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
