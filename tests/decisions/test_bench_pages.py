"""`make bench` (pages) runs end to end on a small book, so the benchmark cannot rot unnoticed."""

import pytest
from django.core.management import call_command

from accounts.seeding.generator import as_of_default
from accounts.services import demo_book_seed
from decisions.engine.services.runs import recompute_run_process_inline, recompute_run_start


@pytest.mark.django_db
def test_the_pages_benchmark_requests_every_page_and_reports_the_target(capsys):
    demo_book_seed(customers=40, seed=36, as_of=as_of_default(), chunk_size=20)
    recompute_run_process_inline(run=recompute_run_start(enqueue=False))

    call_command("bench_pages", requests=3, analyze=False)  # other tests rely on unanalysed tables

    out = capsys.readouterr().out
    for page in (
        "/ (overview)", "/queue/", "/queue/?severity=4", "/search/?q=<part of an id>", "/search/?q=<last phone digits>",
        "/customers/<id>/ (flagged)", "/customers/<id>/ (any)",
    ):
        assert page in out
    assert "Target: every page p95 < 150 ms" in out
