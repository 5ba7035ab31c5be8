"""Daily batch scoring: the champion scores the day's readings; bad readings are quarantined.

The shadow challenger is not part of this job: ``predmaint shadow`` scores the published day
afterwards (:mod:`predmaint.inference.shadow` says why).

Inputs are the files in ``inference/ds=YYYY-MM-DD/`` (CSV or Parquet, as plants drop them), or a
simulated day when none arrived. Each file is scored on its own (``score_file``), so Airflow can
map over files in parallel; ``run_batch`` does the whole day and swaps the day's partition in
atomically, so re-running a day replaces that day only.
"""

from __future__ import annotations

import gc
import os
import shutil
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from predmaint.clock import utc_now
from predmaint.data.columns import SENSOR_COLUMNS
from predmaint.data.readers import iter_readings, read_ahead
from predmaint.data.readings_check import (
    REASON_COLUMN,
    ROW_COLUMN,
    ChunkResult,
    ReadingsCheck,
    only_value,
)
from predmaint.data.simulate import simulate_readings
from predmaint.errors import DataValidationError, UnreadableInputError
from predmaint.features.mechanisms import (
    MODES,
    OSF_LIMITS,
    UTILISATION_COLUMNS,
    overstrain_limits,
    utilisation_many,
)
from predmaint.inference.diagnosis import recommendation_table
from predmaint.inference.ids import BatchIds, with_batch_ids
from predmaint.inference.parts import FileTally, PartWriter, QuarantineWriter
from predmaint.inference.reports import BatchQuality, BatchReport, FileSummary
from predmaint.inference.risk import RISK_LEVELS, Language, risk_level_codes
from predmaint.inference.watch import ChunkCounts, Watch, load_watch, merge_counts
from predmaint.inference.work_orders import (
    WorkOrderTally,
    collect_work_orders,
    write_work_orders,
)
from predmaint.models.loading import LoadedModel, load_model
from predmaint.settings import Settings
from predmaint.storage import (
    AtomicOutput,
    clean_temporaries,
    partition_dir,
    replace_partition,
    write_json_atomic,
    write_parquet_atomic,
)

INPUT_SUFFIXES = (".csv", ".parquet")
REPORT_FILE = "report.json"
PART_PREFIX = "part-"
SIMULATED_FILE = "simulated.parquet"
#: The day's rejected readings, inside its predictions partition (``quarantine_folder``).
QUARANTINE_FOLDER = "quarantine"
#: Name of the link in ``quarantine/ds=…/`` that shows the batch job's quarantine there.
QUARANTINE_LINK = "inference"
#: An unreadable input file is copied to the quarantine under this prefix.
UNREADABLE_PREFIX = "unreadable-"
#: ``predmaint infer``'s exit status when some input files were quarantined whole (0: every
#: file read; 1: failure, nothing published or nothing scored).
PARTIAL_EXIT_CODE = 3


def inference_partition(settings: Settings, ds: date) -> Path:
    return partition_dir(settings.inference_dir, ds)


def list_inputs(settings: Settings, ds: date) -> list[Path]:
    """The day's input files (hidden and temporary files are ignored)."""
    folder = inference_partition(settings, ds)
    if not folder.is_dir():
        return []
    return sorted(
        p
        for p in folder.iterdir()
        if p.is_file() and p.suffix in INPUT_SUFFIXES and not p.name.startswith(".")
    )


def simulate_day(
    settings: Settings,
    ds: date,
    rows: int | None = None,
    *,
    labels: bool = False,
    drift: float = 0.0,
    seed: int | None = None,
) -> Path:
    """Write a simulated plant day of readings to ``inference/ds=…/simulated.parquet``."""
    frame = simulate_readings(
        rows or settings.simulate_rows,
        ds,
        seed=seed,
        machine_types=settings.machine_types,
        labels=labels,
        drift=drift,
        machines=settings.simulated_machines,
    )
    return write_parquet_atomic(frame, inference_partition(settings, ds) / SIMULATED_FILE)


def ensure_inputs(settings: Settings, ds: date, rows: int | None = None) -> list[Path]:
    """The day's input files, simulating a day first when none arrived."""
    return list_inputs(settings, ds) or [simulate_day(settings, ds, rows)]


def score_frame(settings: Settings, frame: pd.DataFrame, model: LoadedModel) -> pd.DataFrame:
    """Valid readings plus prediction, probabilities, risk level, recommendation, failure mode,
    mechanism utilisations and model version.

    The one place where per-reading columns are added: it is called once per chunk of valid
    readings, by the CLI's and the DAG's paths alike. Texts and constants are categorical
    columns (dictionary-encoded on disk): no Python string per reading. The batch job runs the
    two halves apart: :func:`chunk_scores` (numbers only) on a thread of its own while the
    main thread validates the next chunk, then :func:`scored_frame`.
    """
    scores = chunk_scores(model, sensor_columns(frame), osf_limits(frame), settings.language)
    return scored_frame(frame, scores, model)


@dataclass(frozen=True, slots=True)
class ChunkScores:
    """What the models and the rules say about a chunk of valid readings: arrays, one per
    column of :func:`scored_frame` (codes for its categorical ones)."""

    prediction: np.ndarray
    failure_probability: np.ndarray
    probability: np.ndarray
    level_codes: np.ndarray
    mode_codes: np.ndarray
    mode_probability: np.ndarray
    #: ``(n, 5)`` utilisations, columns contiguous (:func:`utilisation_many`).
    utilisation: np.ndarray
    #: Codes into the (level, mode) recommendation table of the language.
    text_codes: np.ndarray
    texts: tuple[str, ...]


def sensor_columns(frame: pd.DataFrame) -> list[np.ndarray]:
    """The five sensor columns of ``frame`` as float64 arrays (no copy when they are)."""
    return [frame[name].to_numpy(dtype=np.float64) for name in SENSOR_COLUMNS]


def osf_limits(frame: pd.DataFrame, only_type: str | None = None) -> Any:
    """The OSF limit of each reading (one number when the chunk is all one type); missing
    types get type L's limit. ``only_type``: the chunk's one type, when already known."""
    if "type" not in frame.columns:
        return OSF_LIMITS["L"]
    kind = only_type if only_type is not None else only_value(frame["type"])
    if kind is not None:
        return OSF_LIMITS.get(kind, OSF_LIMITS["L"])
    return overstrain_limits(frame["type"])


def chunk_scores(
    model: LoadedModel, columns: list[np.ndarray], limits: Any, language: Language
) -> ChunkScores:
    """Probabilities, levels, failure modes (of predicted failures only), utilisations and
    recommendation codes of a chunk: numpy and ONNX Runtime only, so it can run on a thread of
    its own (both release the GIL for most of it)."""
    sensors = np.column_stack(columns) if columns else np.zeros((0, len(SENSOR_COLUMNS)))
    probability = model.bulk_failure_probability(sensors)
    failure = probability >= model.threshold
    codes = risk_level_codes(probability, model.threshold)
    utilisation = utilisation_many(sensors, limits)
    mode_codes = np.full(len(sensors), -1, dtype=np.int8)
    mode_probability = np.full(len(sensors), np.nan)
    failing = np.flatnonzero(failure)
    if model.mode_scorer is not None and len(failing):
        mode_codes[failing], mode_probability[failing] = model.mode_scorer.best_many(
            sensors[failing]
        )
    # the table is level-major, modes in (None, *MODES) order: one code per (level, mode)
    texts = tuple(recommendation_table(language).values())
    text_codes = codes.astype(np.int16) * (len(MODES) + 1) + (mode_codes + 1)
    return ChunkScores(
        prediction=failure.astype(np.int64),
        failure_probability=probability,
        probability=np.where(failure, probability, 1.0 - probability),
        level_codes=codes,
        mode_codes=mode_codes,
        mode_probability=mode_probability,
        utilisation=utilisation,
        text_codes=text_codes,
        texts=texts,
    )


def scored_frame(frame: pd.DataFrame, scores: ChunkScores, model: LoadedModel) -> pd.DataFrame:
    """``frame`` with the columns of ``scores``, built once from its columns (adding fifteen
    columns one by one to a copy took 4 ms of the main thread per 125,000-reading chunk)."""
    columns: dict[str, Any] = {name: frame[name] for name in frame.columns}
    columns["prediction"] = scores.prediction
    columns["failure_probability"] = scores.failure_probability
    columns["probability"] = scores.probability
    columns["risk_level"] = _categorical(scores.level_codes, RISK_LEVELS)
    columns["recommendation"] = _categorical(scores.text_codes, scores.texts)
    columns["failure_mode"] = _categorical(scores.mode_codes, MODES)
    columns["failure_mode_probability"] = scores.mode_probability
    for position, column in enumerate(UTILISATION_COLUMNS):
        columns[column] = scores.utilisation[:, position]
    constant = np.zeros(len(frame), np.int8)
    columns["model_name"] = _categorical(constant, (model.info.name,))
    columns["model_version"] = _categorical(constant, (model.info.version,))
    columns["scored_at"] = _categorical(constant, (utc_now().isoformat(),))
    return pd.DataFrame(columns, index=frame.index, copy=False)


#: Categorical dtypes by their categories: made once, not per chunk (a few hundred µs each).
_DTYPES: dict[tuple[str, ...], pd.CategoricalDtype] = {}


def _categorical(codes: np.ndarray, categories: tuple[str, ...] | list[str]) -> Any:
    key = tuple(categories)
    dtype = _DTYPES.get(key)
    if dtype is None:
        if len(_DTYPES) > 64:  # ``scored_at`` changes every chunk: keep the cache small
            _DTYPES.clear()
        dtype = _DTYPES[key] = pd.CategoricalDtype(pd.Index(list(key)))
    return pd.Categorical.from_codes(codes, dtype=dtype, validate=False)


def quarantine_folder(out_dir: Path) -> Path:
    """Where a day's rejected readings and unreadable files go: inside its predictions partition,
    so that both are replaced together, as one unit."""
    return out_dir / QUARANTINE_FOLDER


def score_file(
    settings: Settings,
    ds: date,
    path: Path,
    model: LoadedModel,
    out_dir: Path | None = None,
    watch: Watch | None = None,
    orders: WorkOrderTally | None = None,
) -> FileSummary:
    """Validate and score one input file, chunk by chunk; write its part file and quarantine.

    Memory depends on ``settings.batch_chunk_rows``, not on the file's size. Each row gets its
    prediction id before validation (from its row number in the file, so ids do not depend on
    the chunk size); ``watch`` counts each chunk for drift (the shadow challenger scores the
    published day afterwards, :mod:`predmaint.inference.shadow`). A file that cannot be read at
    all is quarantined whole (copied, with its reason in the summary) and any output it had from
    an earlier run is removed. ``orders``, when given, counts each scored chunk's alerts into
    the day's work orders (the caller holding the whole day passes it on to
    :func:`write_report`, which then need not read the part files back).
    Returns a small summary (XCom-sized) that :func:`write_report` aggregates.
    """
    out_dir = out_dir or partition_dir(settings.predictions_dir, ds)
    rejected_dir = quarantine_folder(out_dir)
    for folder in (out_dir, rejected_dir):
        clean_temporaries(folder)
    part = out_dir / f"{PART_PREFIX}{path.stem}.parquet"
    rejected = rejected_dir / f"inference-{path.stem}.csv"
    published = quarantine_folder(partition_dir(settings.predictions_dir, ds))
    tally = FileTally(path)
    # the file's own orders: a file found unreadable halfway publishes none of its readings
    found = WorkOrderTally() if orders is not None else None
    try:
        with (
            ChunkCounts(watch) as drift,
            AtomicOutput(part) as part_out,
            AtomicOutput(rejected) as rejected_out,
        ):
            _stream(settings, ds, path, model, drift, found, tally, part_out, rejected_out)
            counts = drift.total()
    except (UnreadableInputError, DataValidationError) as exc:
        return _quarantine_whole(settings, path, rejected_dir, published, model, str(exc))
    if orders is not None and found is not None:
        orders.merge(found)
    return replace(
        tally.summary(model.info.version, part, published / rejected.name),
        drift_counts=counts,
    )


def _stream(
    settings: Settings,
    ds: date,
    path: Path,
    model: LoadedModel,
    drift: ChunkCounts,
    orders: WorkOrderTally | None,
    tally: FileTally,
    part: AtomicOutput,
    rejected: AtomicOutput,
) -> None:
    check = ReadingsCheck(stage=f"inference-{path.stem}")
    # ids from the rows' places in the file: the same whatever the chunking
    ids = BatchIds(ds, path.name)
    with (
        PartWriter(part.tmp) as scored_out,
        QuarantineWriter(rejected.tmp) as rejected_out,
        ThreadPoolExecutor(1, thread_name_prefix="predmaint-chunk") as scoring,
    ):

        def finish(
            rows_in: int,
            valid: pd.DataFrame,
            quarantined: pd.DataFrame,
            scores: Future[ChunkScores] | None,
        ) -> None:
            rejected_out.write(quarantined)
            scored = scored_frame(valid, scores.result(), model) if scores is not None else None
            if scored is not None:
                drift.add(valid)
                if orders is not None:
                    orders.add(scored)
                scored_out.write(scored)
            tally.add(rows_in, scored, quarantined)

        def checked() -> Iterator[tuple[int, pd.DataFrame, pd.DataFrame, Any]]:
            """Each chunk with its ids, validated, split into served and quarantined rows."""
            for raw in iter_readings(path, settings.batch_chunk_rows):
                chunk = with_batch_ids(raw, ds, path.name, ids=ids.take(len(raw)))
                result = check.check(chunk)
                valid, quarantined = _served(settings, result)
                yield len(chunk), valid, quarantined, osf_limits(valid, result.only_type)

        # Three stages overlap, each on its own thread: the next chunk is given its ids and
        # validated (``checked``, read ahead), this chunk's numbers are computed
        # (``chunk_scores``), and here the previous chunk's frame is built and handed on to
        # the drift, part and tally (so two more chunks are in flight than in turn).
        pending: tuple[int, pd.DataFrame, pd.DataFrame, Future[ChunkScores] | None] | None = None
        for rows_in, valid, quarantined, limits in read_ahead(checked(), f"check-{path.name}"):
            scores = None
            if len(valid):
                columns = sensor_columns(valid)
                scores = scoring.submit(chunk_scores, model, columns, limits, settings.language)
            if pending is not None:
                finish(*pending)
            pending = (rows_in, valid, quarantined, scores)
        if pending is not None:
            finish(*pending)
    tally.repeats = check.repeats
    part.publish = scored_out.rows > 0
    rejected.publish = rejected_out.rows > 0


def _quarantine_whole(
    settings: Settings,
    path: Path,
    rejected_dir: Path,
    published: Path,
    model: LoadedModel,
    reason: str,
) -> FileSummary:
    """The file as it arrived goes to the quarantine; its outputs of an earlier run go away."""
    rejected_dir.mkdir(parents=True, exist_ok=True)
    copy = rejected_dir / f"{UNREADABLE_PREFIX}{path.name}"
    with AtomicOutput(copy) as out:
        shutil.copyfile(path, out.tmp)
    return FileSummary(
        input=str(path),
        output=None,
        rows_in=0,
        rows_scored=0,
        rows_quarantined=0,
        quarantine_reasons={},
        quarantine_path=str(published / copy.name),
        risk_levels={},
        alerts=[],
        model_version=model.info.version,
        unreadable=reason,
    )


def _served(settings: Settings, result: ChunkResult) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Readings of a machine type the model was not trained for are quarantined too."""
    valid, quarantined = result.valid, result.quarantined
    if "type" not in valid.columns or valid.empty or result.only_type in settings.machine_types:
        return valid, quarantined
    kind = valid["type"]
    served = (kind.isna() | kind.isin(settings.machine_types)).to_numpy()
    if served.all():
        return valid, quarantined
    other = valid[~served].copy()
    other.insert(0, ROW_COLUMN, result.valid_rows[~served])
    other[REASON_COLUMN] = [
        f"type: {t!r} is not served by this model (machine_types={settings.machine_types})"
        for t in other["type"]
    ]
    merged = pd.concat([quarantined, other]).sort_values(ROW_COLUMN)
    return valid[served].reset_index(drop=True), merged


def write_report(
    settings: Settings,
    ds: date,
    parts: list[FileSummary],
    model_version: str,
    out_dir: Path | None = None,
    watch: Watch | None = None,
    orders: WorkOrderTally | None = None,
) -> BatchReport:
    """Aggregate the parts of a day into ``report.json`` and its work orders; drop outputs of
    vanished inputs.

    Part files and quarantine files that no summary names (an input removed since an earlier
    run, a file that is clean now) are removed, so the partition holds this run's outputs only.
    With ``watch``, the files' drift counts are added up and judged once: the day's ``drift``.
    The work orders come from ``orders`` (counted while the files were scored, by a caller that
    scored every file of the day with it), else from the day's part files read back.
    """
    out_dir = out_dir or partition_dir(settings.predictions_dir, ds)
    _drop_stale(out_dir, parts)
    if orders is None:
        orders = collect_work_orders(out_dir / p.output for p in parts if p.output)
    table = orders.table()
    write_work_orders(out_dir, table)
    levels: Counter[str] = Counter()
    reasons: Counter[str] = Counter()
    modes: Counter[str] = Counter()
    broken: Counter[str] = Counter()
    for part in parts:
        levels.update(part.risk_levels)
        reasons.update(part.quarantine_reasons)
        modes.update(part.failure_modes)
        broken.update(part.rules_broken)
    unreadable = {Path(p.input).name: p.unreadable for p in parts if p.unreadable}
    report = BatchReport(
        ds=ds.isoformat(),
        status="partial" if unreadable else "success",
        model_name=settings.model_name,
        model_version=model_version,
        inputs=len(parts),
        simulated=any(Path(p.input).name == SIMULATED_FILE for p in parts),
        rows_in=sum(p.rows_in for p in parts),
        rows_scored=sum(p.rows_scored for p in parts),
        rows_quarantined=sum(p.rows_quarantined for p in parts),
        risk_levels={level: levels.get(level, 0) for level in RISK_LEVELS},
        predicted_failures=levels.get("Alto", 0) + levels.get("Crítico", 0),
        alerts=[alert for p in parts for alert in p.alerts][:200],
        quality=BatchQuality(
            dict(reasons.most_common()),
            unreadable_files=unreadable,
            repeated_readings=sum(p.repeated_readings for p in parts),
        ),
        files=list(parts),
        written_at=utc_now().isoformat(),
        # Where the day's partition is published (``out_dir`` may be a staging folder).
        predictions_dir=str(partition_dir(settings.predictions_dir, ds)),
        drift=watch.verdict(merge_counts([p.drift_counts for p in parts])) if watch else None,
        work_orders=len(table),
        failure_modes={mode: modes.get(mode, 0) for mode in MODES},
        rules_broken={mode: broken.get(mode, 0) for mode in MODES if mode != "RNF"},
    )
    write_json_atomic(out_dir / REPORT_FILE, report.to_dict())
    link_quarantine(settings, ds)
    return report


def _drop_stale(out_dir: Path, parts: list[FileSummary]) -> None:
    expected = {p.output for p in parts if p.output}
    for stale in out_dir.glob(f"{PART_PREFIX}*.parquet"):
        if stale.name not in expected:
            stale.unlink()
    rejected = {Path(p.quarantine_path).name for p in parts if p.quarantine_path}
    folder = quarantine_folder(out_dir)
    if folder.is_dir():
        for stale in folder.iterdir():
            if stale.is_file() and not stale.name.startswith(".") and stale.name not in rejected:
                stale.unlink()


def link_quarantine(settings: Settings, ds: date) -> None:
    """Show the batch job's quarantine of a day in ``quarantine/ds=…/inference``.

    The files live in the predictions partition (so they are swapped in with it); this relative
    link puts them beside the feature job's quarantine, where a user looks for bad rows.
    """
    day = partition_dir(settings.quarantine_dir, ds)
    link = day / QUARANTINE_LINK
    target = os.path.relpath(quarantine_folder(partition_dir(settings.predictions_dir, ds)), day)
    if link.is_symlink() and os.readlink(link) == target:
        return
    if link.exists() and not link.is_symlink():
        return  # a real folder of that name is the user's: leave it
    day.mkdir(parents=True, exist_ok=True)
    tmp = day / f".{QUARANTINE_LINK}.{os.getpid()}.tmp"
    tmp.unlink(missing_ok=True)
    try:
        os.symlink(target, tmp)
        os.replace(tmp, link)
    except OSError:
        tmp.unlink(missing_ok=True)  # a filesystem without links: the report names the files


def require_scored(settings: Settings, ds: date, report: BatchReport) -> None:
    """Fail a day in which no reading could be scored: an empty report would pass for a quiet day.

    The message names the rules the readings broke, the unreadable files and the quarantine.
    """
    if report.rows_scored > 0:
        return
    unreadable = "".join(
        f"; {name} unreadable: {reason}" for name, reason in report.quality.unreadable_files.items()
    )
    raise DataValidationError(
        f"no valid reading to score for {ds} in {report.inputs} input file(s){unreadable}",
        quarantine_folder(partition_dir(settings.predictions_dir, ds)),
        report.quality.quarantine_reasons,
    )


def run_batch(settings: Settings, ds: date, rows: int | None = None) -> BatchReport:
    """Score a whole day with the champion and swap the day's predictions in atomically.

    The day's quarantine is inside the swapped partition: replaced with the predictions.
    """
    inputs = ensure_inputs(settings, ds, rows)
    model = load_model(settings)
    watch = load_watch(settings, model.info)
    # What is loaded now (libraries, models) lives as long as the job: out of the garbage
    # collector's sight, so that the collections the chunks' objects trigger scan those only
    # (they were 6 % of the job's main thread on a 5 M-reading day).
    gc.freeze()
    orders = WorkOrderTally()  # counted as the files are scored: nothing is read back
    with replace_partition(settings.predictions_dir, ds) as staging:
        parts = [score_file(settings, ds, path, model, staging, watch, orders) for path in inputs]
        report = write_report(settings, ds, parts, model.info.version, staging, watch, orders)
    require_scored(settings, ds, report)
    return report
