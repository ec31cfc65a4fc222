"""Reading a risk team's own development data from a CSV file, with every refusal named.

One row per observation, one column the target (`--target`, bad where it equals `--bad-value`),
optionally a split column whose values are `train` and `test`; every other column is a candidate
feature: numeric columns are binned as numbers, the rest as categories. Refused, with the file,
column or argument named and nothing read further: a missing, empty or non-UTF-8 file, a missing
target column, a target that is not binary or lacks the bad value, fewer than 50 bads or goods, a
constant or all-empty column, a column of more than 10,000 distinct categories, a split column
with other values than train and test.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from pandas.errors import EmptyDataError, ParserError

from .fitting import FeatureSpec

MAX_CATEGORIES = 10_000
MIN_CLASS_ROWS = 50
SPLIT_VALUES = {"train", "test"}


class CsvRefused(ValueError):
    def __init__(self, message: str, *, field: str):
        super().__init__(message)
        self.field = field


@dataclass
class CsvSample:
    frame: pd.DataFrame  # the feature columns
    bad: np.ndarray
    specs: list[FeatureSpec]
    split: np.ndarray | None  # "train"/"test" per row when a split column was named
    columns: list[str]


def _read(path: Path) -> pd.DataFrame:
    if not path.is_file():
        raise CsvRefused(f"{path}: no such file", field="from_csv")
    raw = path.read_bytes()
    if not raw.strip():
        raise CsvRefused(f"{path}: the file is empty", field="from_csv")
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise CsvRefused(f"{path}: not UTF-8 (byte {exc.start} cannot be read)", field="from_csv") from None
    try:
        frame = pd.read_csv(path, encoding="utf-8", low_memory=False)
    except (EmptyDataError, ParserError) as exc:
        raise CsvRefused(f"{path}: not a CSV file ({exc})", field="from_csv") from None
    if frame.empty:
        raise CsvRefused(f"{path}: a header and no rows", field="from_csv")
    return frame


def _target(frame: pd.DataFrame, column: str, bad_value: str) -> np.ndarray:
    values = frame[column]
    if values.isna().any():
        raise CsvRefused(f"--target {column}: {int(values.isna().sum())} rows have no value", field="target")
    as_text = values.astype(str).str.strip()
    distinct = sorted(set(as_text))
    if len(distinct) != 2:
        raise CsvRefused(
            f"--target {column}: {len(distinct)} distinct values ({', '.join(distinct[:5])}{'…' if len(distinct) > 5 else ''}); a target has two",
            field="target",
        )
    wanted = str(bad_value).strip()
    if wanted not in distinct:
        # 1 and 1.0 are the same bad value in a numeric column.
        try:
            numeric = {float(v): v for v in distinct}
            wanted = numeric.get(float(wanted), wanted)
        except ValueError:
            pass
    if wanted not in distinct:
        raise CsvRefused(f"--bad-value {bad_value}: not a value of column {column} (its values: {', '.join(distinct)})", field="bad_value")
    return (as_text == wanted).to_numpy()


def read_development_csv(path: Path, *, target: str, bad_value: str, split_column: str | None = None) -> CsvSample:
    frame = _read(path)
    frame.columns = [str(c).strip() for c in frame.columns]
    if target not in frame.columns:
        raise CsvRefused(f"--target {target}: no such column in {path} (columns: {', '.join(frame.columns)})", field="target")
    bad = _target(frame, target, bad_value)
    bads, goods = int(bad.sum()), int((~bad).sum())
    if bads < MIN_CLASS_ROWS or goods < MIN_CLASS_ROWS:
        raise CsvRefused(
            f"--target {target}: {bads} bad and {goods} good rows; at least {MIN_CLASS_ROWS} of each are needed", field="target"
        )
    split = None
    if split_column is not None:
        if split_column not in frame.columns:
            raise CsvRefused(f"--split-column {split_column}: no such column in {path}", field="split_column")
        split = frame[split_column].astype(str).str.strip().str.lower().to_numpy(dtype=object)
        others = sorted(set(split) - SPLIT_VALUES)
        if others:
            raise CsvRefused(
                f"--split-column {split_column}: values must be train or test, not {', '.join(others[:5])}", field="split_column"
            )
        if not (split == "test").any() or not (split == "train").any():
            raise CsvRefused(f"--split-column {split_column}: needs both train and test rows", field="split_column")
    features = [c for c in frame.columns if c not in {target, split_column}]
    if not features:
        raise CsvRefused(f"{path}: no column besides the target to fit on", field="from_csv")
    specs = []
    for name in features:
        column = frame[name]
        if column.isna().all():
            raise CsvRefused(f"column {name}: every value is empty", field=name)
        if column.nunique(dropna=True) < 2:
            raise CsvRefused(f"column {name}: constant ({column.dropna().iloc[0]!r} in every row)", field=name)
        if pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column):
            # Direction unknown: optbinning's own heuristic picks it (a peak or valley included).
            specs.append(FeatureSpec(name, "numerical", "auto"))
        else:
            distinct = column.nunique(dropna=True)
            if distinct > MAX_CATEGORIES:
                raise CsvRefused(
                    f"column {name}: {distinct:,} distinct categories, more than {MAX_CATEGORIES:,} (an identifier, not a feature?)",
                    field=name,
                )
            frame[name] = column.astype(str).where(column.notna(), np.nan)
            specs.append(FeatureSpec(name, "categorical"))
    return CsvSample(frame[features].copy(), bad, specs, split, features)
