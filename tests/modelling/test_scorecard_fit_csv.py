"""`manage.py scorecard_fit --from-csv`: a risk team's own data, fitted and reported; every bad input
refused with the file, column or argument named, and nothing written."""

import json

import numpy as np
import pandas as pd
import pytest
from django.core.management import CommandError, call_command

from decisions.models import PolicyVersion
from modelling.models import ScorecardDevelopment
from riskops.core.models import AuditEvent

pytestmark = pytest.mark.django_db


def credit_frame(rows: int = 600, seed: int = 3) -> pd.DataFrame:
    """A small credit file: two numeric drivers, a categorical one, a noise column, the target."""
    rng = np.random.default_rng(seed)
    bureau = rng.normal(650, 60, rows).round()
    utilisation = rng.beta(2, 3, rows).round(4)
    housing = rng.choice(["own", "rent", "free"], rows, p=[0.5, 0.35, 0.15])
    logit = -1.2 - (bureau - 650) / 50 + 1.5 * utilisation + np.where(housing == "rent", 0.6, 0.0)
    bad = rng.random(rows) < 1 / (1 + np.exp(-logit))
    return pd.DataFrame(
        {"bureau": bureau, "utilisation": utilisation, "housing": housing, "noise": rng.normal(size=rows), "status": np.where(bad, "bad", "good")}
    )


def write(tmp_path, frame: pd.DataFrame, name: str = "credit.csv"):
    path = tmp_path / name
    frame.to_csv(path, index=False)
    return path


def nothing_written(before: int) -> bool:
    return (
        PolicyVersion.objects.count() == before
        and not ScorecardDevelopment.objects.exists()
        and not AuditEvent.objects.filter(action="scorecard.fit").exists()
    )


def test_a_csv_is_fitted_and_reported_without_writing_a_draft(tmp_path, capsys):
    path = write(tmp_path, credit_frame())
    report = tmp_path / "report.json"
    before = PolicyVersion.objects.count()
    call_command("scorecard_fit", "--from-csv", str(path), "--target", "status", "--bad-value", "bad", "--report-json", str(report))
    data = json.loads(report.read_text())
    for part in ("train", "test"):
        assert {"auc", "gini", "ks", "rows"} <= set(data[part])
        assert abs(data[part]["gini"] - (2 * data[part]["auc"] - 1)) < 1e-3
    assert data["train"]["rows"] + data["test"]["rows"] == 600
    assert "oot" not in data and "oracle_auc" not in data
    features = {f["name"]: f for f in data["features"]}
    assert set(features) == {"bureau", "utilisation", "housing", "noise"}
    assert features["bureau"]["selected"] and features["bureau"]["iv"] > features["noise"]["iv"]
    # The categorical column is binned as categories.
    assert any("rent" in b["label"] for b in features["housing"]["bins"])
    assert data["test"]["auc"] > 0.65
    assert nothing_written(before)
    assert "test" in capsys.readouterr().out


def test_a_split_column_decides_the_holdout(tmp_path):
    frame = credit_frame()
    frame["sample"] = np.where(np.arange(len(frame)) % 4 == 0, "test", "train")
    path = write(tmp_path, frame)
    report = tmp_path / "r.json"
    call_command(
        "scorecard_fit", "--from-csv", str(path), "--target", "status", "--bad-value", "bad", "--split-column", "sample", "--report-json", str(report)
    )
    data = json.loads(report.read_text())
    assert data["test"]["rows"] == 150 and data["train"]["rows"] == 450
    assert "sample" not in {f["name"] for f in data["features"]}


def test_a_draft_from_a_csv_of_engine_features(tmp_path, risk_admin):
    rng = np.random.default_rng(5)
    rows = 800
    frame = pd.DataFrame(
        {
            "bureau_score": rng.normal(650, 60, rows).round(),
            "utilisation": rng.beta(2, 3, rows).round(4),
            "max_dpd_12m": rng.choice([0, 0, 0, 5, 40, 100], rows),
        }
    )
    logit = -1.5 - (frame["bureau_score"] - 650) / 50 + 0.02 * frame["max_dpd_12m"]
    frame["bad"] = (rng.random(rows) < 1 / (1 + np.exp(-logit))).astype(int)
    path = write(tmp_path, frame)
    call_command("scorecard_fit", "--from-csv", str(path), "--target", "bad", "--bad-value", "1", "--draft", "--as", risk_admin.username)
    development = ScorecardDevelopment.objects.get()
    body = development.policy_version.body
    assert development.source == "csv" and development.policy_version.state == "draft"
    # Engine features absent from the file carry no points in the draft.
    assert body["scorecard"]["features"]["tenure_months"]["bins"] == [{"below": None, "points": 0}]
    assert len(body["scorecard"]["features"]["bureau_score"]["bins"]) > 1


def test_draft_refuses_columns_that_are_not_engine_features(tmp_path):
    path = write(tmp_path, credit_frame()[["bureau", "noise", "status"]])
    before = PolicyVersion.objects.count()
    with pytest.raises(CommandError, match=r"--draft: bureau, noise are not engine features"):
        call_command("scorecard_fit", "--from-csv", str(path), "--target", "status", "--bad-value", "bad", "--draft")
    assert nothing_written(before)


def _refused(tmp_path, args, match):
    before = PolicyVersion.objects.count()
    with pytest.raises(CommandError, match=match):
        call_command("scorecard_fit", *args)
    assert nothing_written(before)


def test_a_missing_file(tmp_path):
    _refused(tmp_path, ["--from-csv", str(tmp_path / "nope.csv"), "--target", "status", "--bad-value", "bad"], "nope.csv: no such file")


def test_an_empty_file(tmp_path):
    path = tmp_path / "empty.csv"
    path.write_text("")
    _refused(tmp_path, ["--from-csv", str(path), "--target", "status", "--bad-value", "bad"], "empty.csv: the file is empty")


def test_a_header_without_rows(tmp_path):
    path = tmp_path / "header.csv"
    path.write_text("bureau,status\n")
    _refused(tmp_path, ["--from-csv", str(path), "--target", "status", "--bad-value", "bad"], "a header and no rows")


def test_a_file_that_is_not_utf8(tmp_path):
    path = tmp_path / "latin1.csv"
    credit_frame().assign(city="Zürich").to_csv(path, index=False, encoding="latin-1")
    _refused(tmp_path, ["--from-csv", str(path), "--target", "status", "--bad-value", "bad"], "latin1.csv: not UTF-8")


def test_without_the_target_column(tmp_path):
    path = write(tmp_path, credit_frame())
    _refused(tmp_path, ["--from-csv", str(path), "--target", "outcome", "--bad-value", "bad"], "--target outcome: no such column")


def test_a_target_that_is_not_binary(tmp_path):
    frame = credit_frame()
    frame.loc[:9, "status"] = "unknown"
    _refused(tmp_path, ["--from-csv", str(write(tmp_path, frame)), "--target", "status", "--bad-value", "bad"], "--target status: 3 distinct values")


def test_a_bad_value_absent_from_the_target(tmp_path):
    path = write(tmp_path, credit_frame())
    _refused(tmp_path, ["--from-csv", str(path), "--target", "status", "--bad-value", "default"], "--bad-value default: not a value of column status")


def test_fewer_than_50_bads(tmp_path):
    frame = credit_frame()
    bads = frame.index[frame["status"] == "bad"]
    frame.loc[bads[40:], "status"] = "good"
    _refused(tmp_path, ["--from-csv", str(write(tmp_path, frame)), "--target", "status", "--bad-value", "bad"], "40 bad and 560 good rows")


def test_a_constant_column(tmp_path):
    frame = credit_frame().assign(country="NL")
    _refused(tmp_path, ["--from-csv", str(write(tmp_path, frame)), "--target", "status", "--bad-value", "bad"], "column country: constant")


def test_an_all_empty_column(tmp_path):
    frame = credit_frame().assign(notes=np.nan)
    _refused(tmp_path, ["--from-csv", str(write(tmp_path, frame)), "--target", "status", "--bad-value", "bad"], "column notes: every value is empty")


def test_a_column_of_more_than_10000_categories(tmp_path):
    frame = pd.concat([credit_frame(rows=10_200, seed=9)], ignore_index=True)
    frame["customer_ref"] = [f"C{i:06d}" for i in range(len(frame))]
    _refused(
        tmp_path, ["--from-csv", str(write(tmp_path, frame)), "--target", "status", "--bad-value", "bad"], "column customer_ref: 10,200 distinct categories"
    )


def test_a_split_column_with_other_values(tmp_path):
    frame = credit_frame().assign(sample="train")
    frame.loc[:5, "sample"] = "validation"
    _refused(
        tmp_path,
        ["--from-csv", str(write(tmp_path, frame)), "--target", "status", "--bad-value", "bad", "--split-column", "sample"],
        "--split-column sample: values must be train or test, not validation",
    )


@pytest.mark.parametrize("fraction", ["0", "1", "1.5", "half"])
def test_a_bad_test_fraction(tmp_path, fraction):
    path = write(tmp_path, credit_frame())
    _refused(tmp_path, ["--from-csv", str(path), "--target", "status", "--bad-value", "bad", "--test-fraction", fraction], "--test-fraction")


def test_csv_options_need_their_source(tmp_path):
    _refused(tmp_path, ["--from-book", "--target", "status"], "--target applies to --from-csv only")
    _refused(tmp_path, ["--from-csv", "x.csv"], "--from-csv needs --target COLUMN and --bad-value VALUE")
