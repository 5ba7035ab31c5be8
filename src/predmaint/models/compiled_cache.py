"""Compiled versions kept on disk, so a process that scores a day neither converts the forest to
ONNX nor even loads the scikit-learn pipeline each time it starts.

Converting a forest with skl2onnx, and before that importing scikit-learn and deserialising the
pipeline, are most of a batch process's fixed cost (docs/benchmarks.md). A registered version
never changes, so its compiled form is kept under ``<home>/.cache/compiled/``, keyed by the model
name, the version and the sha256 of the version's pipeline file (a version re-created under the
same number in another store gets another key). An entry is used only after it proved itself:
its ONNX bytes match the digest recorded beside them, and they reproduce, on the probe readings,
the probabilities the pipeline itself gave when the entry was written (within
``PROBE_TOLERANCE``). Anything else (missing, corrupt, another runtime): the caller compiles
again and the entry is rewritten. The cache never decides a score on its own.
"""

from __future__ import annotations

import hashlib
import logging
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from predmaint.models.compiled import (
    PROBE_TOLERANCE,
    OnnxScorer,
    PipelineScorer,
    Scorer,
    compile_pipeline,
    probe_readings,
)
from predmaint.models.tracking import version_uri
from predmaint.models.versions import ModelVersion
from predmaint.settings import Settings
from predmaint.storage import read_json, write_bytes_atomic, write_json_atomic

log = logging.getLogger(__name__)

#: Where the pyfunc keeps the fitted pipeline inside a registered version's artifacts.
PIPELINE_FILE = "artifacts/pipeline/model.skops"
CACHE_FOLDER = Path(".cache") / "compiled"


@dataclass(frozen=True)
class Compiled:
    """What scoring needs of a version: its compiled scorer and its decision threshold."""

    scorer: Scorer
    threshold: float
    from_cache: bool


def cache_dir(settings: Settings) -> Path:
    return settings.home / CACHE_FOLDER


def pipeline_digest(settings: Settings, info: ModelVersion) -> str | None:
    """sha256 of the version's pipeline file (a copy of 1 MB for a local store), None if absent."""
    import mlflow.artifacts

    try:
        with tempfile.TemporaryDirectory(prefix="predmaint-digest-") as tmp:
            path = mlflow.artifacts.download_artifacts(
                artifact_uri=f"{version_uri(settings, info.version)}/{PIPELINE_FILE}",
                dst_path=tmp,
            )
            return hashlib.sha256(Path(path).read_bytes()).hexdigest()
    except Exception as exc:  # no such file (another flavour), store unreachable: no cache
        log.info("compiled cache not used for v%s: %s", info.version, exc)
        return None


def _entry(settings: Settings, info: ModelVersion, digest: str) -> tuple[Path, Path]:
    stem = f"{info.name}-v{info.version}-{digest[:16]}"
    folder = cache_dir(settings)
    return folder / f"{stem}.onnx", folder / f"{stem}.json"


def read_cached(settings: Settings, info: ModelVersion, digest: str) -> Compiled | None:
    """The cached compiled version if it proves itself (see the module), else None."""
    model_path, meta_path = _entry(settings, info, digest)
    try:
        meta = read_json(meta_path)
        model = model_path.read_bytes()
        if meta["pipeline_sha256"] != digest or meta["onnx_sha256"] != _sha(model):
            return None
        scorer = OnnxScorer(model, int(meta["column"]))
        expected = np.asarray(meta["probe_probability"], dtype=np.float64)
        gap = float(np.max(np.abs(scorer.probability(probe_readings()) - expected)))
    except (OSError, ValueError, KeyError, TypeError):
        return None
    except Exception as exc:  # the runtime refused the bytes: compile again
        log.warning("compiled cache entry %s unusable: %s", model_path.name, exc)
        return None
    if not gap <= PROBE_TOLERANCE:
        return None
    scorer.detail += f"; from the compiled cache (probe gap {gap:.2g})"
    return Compiled(scorer, float(meta["threshold"]), from_cache=True)


def write_cached(
    settings: Settings, info: ModelVersion, digest: str, pipeline: Any, compiled: Compiled
) -> None:
    """Keep an ONNX-compiled version for the next process (nothing kept for the fallback)."""
    scorer = compiled.scorer
    if not isinstance(scorer, OnnxScorer):
        return
    model_path, meta_path = _entry(settings, info, digest)
    probe = PipelineScorer(pipeline).probability(probe_readings())
    try:
        write_bytes_atomic(model_path, scorer.model)
        write_json_atomic(
            meta_path,
            {
                "name": info.name,
                "version": info.version,
                "pipeline_sha256": digest,
                "onnx_sha256": _sha(scorer.model),
                "column": scorer.column,
                "threshold": compiled.threshold,
                "probe_probability": probe.tolist(),
            },
        )
    except OSError as exc:  # a read-only home still scores, it only compiles every time
        log.warning("compiled cache not written: %s", exc)


def compile_version(classifier: Any) -> Compiled:
    """Compile a loaded version's pipeline (``classifier``: the pyfunc's python model)."""
    scorer = compile_pipeline(classifier.pipeline)
    return Compiled(scorer, float(classifier.threshold), from_cache=False)


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
