"""The part file's writer: its per-column settings change the bytes, never what readers get."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from predmaint.inference.parts import PartWriter, part_options


def _scored(rows: int, first: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    udi = pd.array(np.arange(first, first + rows), dtype="Int64")
    udi[1] = pd.NA
    return pd.DataFrame(
        {
            "prediction_id": pd.array([f"20260601-{i:016x}" for i in range(rows)], dtype="str"),
            "udi": udi,
            "product_id": pd.array([f"L{i % 7}" for i in range(rows)], dtype="str"),
            "type": pd.array(["L"] * rows, dtype="str"),
            "air_temperature": np.round(rng.uniform(295, 305, rows), 1),
            # more distinct values than a dictionary page holds: falls back to plain
            "torque": rng.uniform(3, 77, rows),
            "prediction": rng.integers(0, 2, rows),
            "failure_probability": rng.uniform(0, 1, rows),
            "risk_level": pd.Categorical(rng.choice(["Baixo", "Crítico"], rows)),
            "failure_mode": pd.Categorical([None] * (rows - 1) + ["OSF"]),
        }
    )


def test_part_file_reads_back_as_written(tmp_path: Path) -> None:
    chunks = [_scored(150_000, 1, 0), _scored(1_000, 150_001, 1)]
    path = tmp_path / "part.parquet"
    with PartWriter(path) as writer:
        for chunk in chunks:
            writer.write(chunk)
    expected = pd.concat(chunks, ignore_index=True)
    back = pd.read_parquet(path)
    assert list(back.columns) == list(expected.columns)
    assert list(back.dtypes.astype(str)) == list(expected.dtypes.astype(str))
    pd.testing.assert_frame_equal(back, expected, check_categorical=False)
    # the same schema (names, types, pandas metadata) as pyarrow's default settings give
    plain = tmp_path / "plain.parquet"
    pq.write_table(pa.Table.from_pandas(chunks[0], preserve_index=False), plain)
    assert pq.read_schema(path).equals(pq.read_schema(plain), check_metadata=True)
    assert pq.ParquetFile(path).metadata.num_row_groups == 2


def test_part_options_per_column() -> None:
    schema = pa.Table.from_pandas(_scored(10, 1, 0), preserve_index=False).schema
    options = part_options(schema)
    assert "prediction_id" not in options["use_dictionary"]
    assert {"air_temperature", "torque", "product_id", "risk_level"} <= set(
        options["use_dictionary"]
    )
    assert options["compression"]["failure_probability"] == "none"
    assert options["compression"]["air_temperature"] == "snappy"
    assert options["column_encoding"] == {
        "udi": "DELTA_BINARY_PACKED",
        "prediction": "DELTA_BINARY_PACKED",
        "prediction_id": "DELTA_BYTE_ARRAY",
    }
    assert options["write_statistics"] == ["udi", "prediction"]
