"""Compiled versions kept on disk, so a process that scores a day neither converts the forest to
ONNX nor even loads the scikit-learn pipeline each time it starts.

Converting a forest with skl2onnx, and before that importing scikit-learn and deserialising the
pipeline, are most of a batch process's fixed cost (docs/benchmarks.md). A registered version
never changes, so its compiled form is kept under ``<home>/.cache/compiled/``, keyed by the model
name, the version and the sha256 of the version's pipeline file (a version re-created under the
same number in another store gets another key). The entry holds both models of the version: the
binary pipeline and, beside it, its failure-mode model (:mod:`predmaint.models.mode_scorer`),
whose file digest, ONNX bytes, class names and probe answers are kept the same way; a version
trained without a mode model records that it has none. So a batch process with a valid entry
builds everything it scores with from the entry, and never imports scikit-learn.

An entry is used only after it proved itself: each ONNX file matches the digest recorded beside
it, the pipeline files match the digests the entry was written for, and each ONNX model
reproduces, on the probe readings, the probabilities its pipeline itself gave when the entry was
written (within ``PROBE_TOLERANCE``). Anything else (missing, corrupt, older format, another
runtime): the caller compiles again and the entry is rewritten. The cache never decides a score
on its own. The recorded probe answers also spare the API a second pass of the pipeline over the
probe when it attaches the tree code for single readings.
"""

from __future__ import annotations

import hashlib
import logging
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from predmaint.models import local_store
from predmaint.models.compiled import (
    PROBE_TOLERANCE,
    FloatArray,
    OnnxScorer,
    PipelineScorer,
    Scorer,
    compile_pipeline,
    probe_readings,
)
from predmaint.models.mode_scorer import ModeScorer, compile_modes
from predmaint.models.tracking import configure, version_uri
from predmaint.models.versions import ModelVersion
from predmaint.settings import Settings
from predmaint.storage import read_json, write_bytes_atomic, write_json_atomic

log = logging.getLogger(__name__)

#: Where the pyfunc keeps its fitted pipelines inside a registered version's artifacts.
ARTIFACTS = "artifacts"
PIPELINE_FILE = "pipeline/model.skops"
MODES_FILE = "modes/model.skops"
CACHE_FOLDER = Path(".cache") / "compiled"
#: Entries of another format are compiled again (2: the mode model kept; 3: the forest as one
#: TreeEnsemble of ai.onnx.ml opset 5, see compiled.append_forest; 4: that ensemble averages
#: the trees' probabilities instead of summing leaves pre-divided by the number of trees).
FORMAT = 4


@dataclass(frozen=True)
class Digests:
    """sha256 of a version's pipeline file and of its mode model's (None: it has none)."""

    pipeline: str
    modes: str | None


@dataclass(frozen=True)
class Compiled:
    """What scoring needs of a version: its compiled scorer, its decision threshold, its
    failure-mode model (None for a version trained without one), and the pipeline's own
    probabilities on :func:`probe_readings` (the reference the compiled forms were proved on)."""

    scorer: Scorer
    threshold: float
    from_cache: bool
    probe_probability: FloatArray
    modes: ModeScorer | None = None


def cache_dir(settings: Settings) -> Path:
    return settings.home / CACHE_FOLDER


def version_digests(settings: Settings, info: ModelVersion) -> Digests | None:
    """sha256 of the version's pipeline files, None if they cannot be read (another flavour,
    store unreachable): then the cache is not used.

    An embedded store's files are read where they are (:func:`local_store.version_artifacts`);
    any other store's are downloaded by MLflow (a copy of about 1 MB).
    """
    local = local_store.version_artifacts(settings, info.version)
    if local is not None:
        try:
            return _digests(local / ARTIFACTS)
        except OSError as exc:  # no such file (another flavour): MLflow decides below
            log.info("v%s's files not read in place: %s", info.version, exc)
    try:
        import mlflow.artifacts

        configure(settings)
        with tempfile.TemporaryDirectory(prefix="predmaint-digest-") as tmp:
            root = Path(
                mlflow.artifacts.download_artifacts(
                    artifact_uri=f"{version_uri(settings, info.version)}/{ARTIFACTS}",
                    dst_path=tmp,
                )
            )
            return _digests(root)
    except Exception as exc:  # no such file (another flavour), store unreachable: no cache
        log.info("compiled cache not used for v%s: %s", info.version, exc)
        return None


def _digests(root: Path) -> Digests:
    modes = root / MODES_FILE
    return Digests(
        _sha((root / PIPELINE_FILE).read_bytes()),
        _sha(modes.read_bytes()) if modes.is_file() else None,
    )


def _entry(settings: Settings, info: ModelVersion, digests: Digests) -> tuple[Path, Path, Path]:
    stem = f"{info.name}-v{info.version}-{digests.pipeline[:16]}"
    folder = cache_dir(settings)
    return folder / f"{stem}.onnx", folder / f"{stem}.json", folder / f"{stem}-modes.onnx"


def read_cached(settings: Settings, info: ModelVersion, digests: Digests) -> Compiled | None:
    """The cached compiled version if it proves itself (see the module), else None."""
    model_path, meta_path, modes_path = _entry(settings, info, digests)
    try:
        meta = read_json(meta_path)
        if meta.get("format") != FORMAT or meta["pipeline_sha256"] != digests.pipeline:
            return None
        model = model_path.read_bytes()
        if meta["onnx_sha256"] != _sha(model):
            return None
        scorer = OnnxScorer(model, int(meta["column"]))
        expected = np.asarray(meta["probe_probability"], dtype=np.float64)
        gap = float(np.max(np.abs(scorer.probability(probe_readings()) - expected)))
        modes = _cached_modes(meta["modes"], modes_path, digests)
    except (OSError, ValueError, KeyError, TypeError):
        return None
    except Exception as exc:  # the runtime refused the bytes: compile again
        log.warning("compiled cache entry %s unusable: %s", model_path.name, exc)
        return None
    if not gap <= PROBE_TOLERANCE:
        return None
    scorer.detail += f"; from the compiled cache (probe gap {gap:.2g})"
    return Compiled(scorer, float(meta["threshold"]), True, expected, modes)


def _cached_modes(meta: dict[str, Any] | None, path: Path, digests: Digests) -> ModeScorer | None:
    """The cached mode model (None: the version has none); ValueError if it does not prove
    itself. Its file must match the version's mode-model file, or the absence of one."""
    if meta is None:
        if digests.modes is not None:
            raise ValueError("the entry has no mode model, the version has one")
        return None
    model = path.read_bytes()
    if meta["modes_sha256"] != digests.modes or meta["onnx_sha256"] != _sha(model):
        raise ValueError("the mode model's files are not those of the entry")
    scorer = ModeScorer(meta["classes"], np.asarray(meta["probe_probability"]), model=model)
    if not scorer.probe_gap() <= PROBE_TOLERANCE:
        raise ValueError("the cached mode model does not reproduce its probe answers")
    return scorer


def write_cached(
    settings: Settings, info: ModelVersion, digests: Digests, compiled: Compiled
) -> None:
    """Keep an ONNX-compiled version for the next process (nothing kept for a fallback: a
    version whose pipeline or mode model is served by scikit-learn is compiled every time)."""
    scorer, modes = compiled.scorer, compiled.modes
    if not isinstance(scorer, OnnxScorer) or (modes is not None and modes.model is None):
        return
    model_path, meta_path, modes_path = _entry(settings, info, digests)
    modes_meta: dict[str, Any] | None = None
    try:
        if modes is not None and modes.model is not None:
            write_bytes_atomic(modes_path, modes.model)
            modes_meta = {
                "modes_sha256": digests.modes,
                "onnx_sha256": _sha(modes.model),
                "classes": list(modes.classes),
                "probe_probability": modes.probe_probability.tolist(),
            }
        write_bytes_atomic(model_path, scorer.model)
        write_json_atomic(
            meta_path,
            {
                "format": FORMAT,
                "name": info.name,
                "version": info.version,
                "pipeline_sha256": digests.pipeline,
                "onnx_sha256": _sha(scorer.model),
                "column": scorer.column,
                "threshold": compiled.threshold,
                "probe_probability": compiled.probe_probability.tolist(),
                "modes": modes_meta,
            },
        )
    except OSError as exc:  # a read-only home still scores, it only compiles every time
        log.warning("compiled cache not written: %s", exc)


def compile_version(classifier: Any, label: str = "the model") -> Compiled:
    """Compile a loaded version's pipeline and mode model (``classifier``: the pyfunc's python
    model, ``label``: the version named in warnings), each checked against the pipeline's own
    answers on the probe."""
    probe = probe_readings()
    expected = PipelineScorer(classifier.pipeline).probability(probe)
    scorer = compile_pipeline(classifier.pipeline, probe, expected, label)
    pipeline_modes = getattr(classifier, "modes", None)
    modes = compile_modes(pipeline_modes) if pipeline_modes is not None else None
    return Compiled(scorer, float(classifier.threshold), False, expected, modes)


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
