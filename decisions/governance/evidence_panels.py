"""What the risk admin who asks for or approves an activation should read first, from other apps.

The policy version's admin page (admin_policy.py) belongs to `decisions`; a fitted scorecard's
validation report lives in `modelling`, which depends on `decisions`, not the other way round.
The model app registers a reader in its AppConfig.ready; the admin's change and confirmation
pages show what each reader returns (a link and a few headline figures) beside the request and
approve buttons. The companion of `activation_checks.py`: that one refuses, this one shows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from decisions.models import PolicyVersion


@dataclass(frozen=True)
class Evidence:
    title: str
    url: str | None  # the full report
    link_text: str
    figures: list[tuple[str, str]] = field(default_factory=list)  # (label, value), already formatted
    note: str = ""
    ok: bool = True  # False: the activation will be refused until someone acts (the note says how)


EvidenceReader = Callable[[PolicyVersion], "Evidence | None"]

_READERS: list[EvidenceReader] = []


def register(reader: EvidenceReader) -> None:
    if reader not in _READERS:
        _READERS.append(reader)


def evidence_for(version: PolicyVersion) -> list[Evidence]:
    """What every registered reader has to show for this version (readers with nothing say None)."""
    return [e for e in (reader(version) for reader in _READERS) if e is not None]
