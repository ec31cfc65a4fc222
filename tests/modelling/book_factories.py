"""A model-ready book for scorecard tests: customers, the engine's recorded features at each
observation date (score snapshots a minute before) and matured outcomes drawn from a known model.

Built by `synthetic.model_book` (the fitting benchmark's generator too), not the replay: a
scorecard test needs hundreds of observations, not the months of events behind them.
"""

from __future__ import annotations

from datetime import date

from accounts.models import Customer
from synthetic.model_book import FIRST_DATE, model_ready_book

_books = 0


def modelling_book(*, customers: int = 400, dates: int = 4, seed: int = 7, shift: float = 0.0, first: date = FIRST_DATE) -> list[Customer]:
    """`customers` customers observed on `dates` month starts from `first` (see synthetic/model_book.py)."""
    global _books
    _books += 1  # a test may build two books: their external ids must not collide
    ids = model_ready_book(customers=customers, dates=dates, seed=seed, shift=shift, first=first, id_prefix=f"mb{_books}")
    return list(Customer.objects.filter(pk__in=ids).order_by("pk"))
