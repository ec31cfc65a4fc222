"""Consent evidence per channel (accounts/consent_evidence.py): what each channel must record, and
the synthetic evidence always fitting its channel."""

import random
from datetime import datetime, timezone

import pytest
from hypothesis import given, strategies as st

from accounts.consent_evidence import REQUIRED_KEYS, evidence_problems, synthetic_evidence

AT = datetime(2026, 11, 1, 12, tzinfo=timezone.utc)


@pytest.mark.parametrize(
    ("channel", "evidence", "problem"),
    [
        ("web", {"device": "ios", "ip": "10.0.0.1"}, "web evidence needs user_agent"),
        ("web", {"device": "ios", "ip": "10.0.0.1", "user_agent": "Mozilla/5.0"}, "device does not belong to web evidence"),
        ("app", {"device": "web", "ip": "10.0.0.1", "app_version": "4.12.1"}, "an app consent comes from ios or android, not 'web'"),
        ("app", {"device": "synthetic"}, "app evidence needs ip"),
        ("call_center", {"ip": "10.0.0.1"}, "call_center evidence needs recording_ref"),
        ("branch", {"recording_ref": "REC-1", "signed_document_ref": "DOC-1", "branch": "BR-001"}, "recording_ref does not belong to branch evidence"),
        ("fax", {}, "unknown channel 'fax'"),
    ],
)
def test_evidence_that_contradicts_its_channel_is_named(channel, evidence, problem):
    assert problem in evidence_problems(channel, evidence)


@given(st.sampled_from(sorted(REQUIRED_KEYS)), st.integers(0, 10**6), st.sampled_from([None, "ios", "android", "web"]))
def test_synthetic_evidence_always_fits_its_channel(channel, seed, device):
    evidence = synthetic_evidence(channel, random.Random(seed), at=AT, device=device)
    assert evidence_problems(channel, evidence) == []
    assert evidence_problems(channel, {"reason": "customer request", **evidence}) == []
