"""Hot reads as server-side prepared statements (riskops/core/prepared.py)."""

import pytest
from django.db import DatabaseError, connection, transaction
from django.test.utils import override_settings

from riskops.core.prepared import prepared_cursor

pytestmark = pytest.mark.django_db(transaction=True)
SQL = "SELECT %(n)s + 1 AS riskops_prepared_probe"


def prepared_statements() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        return [row[0] for row in cursor.fetchall()]


def run(n: int) -> int:
    with prepared_cursor() as cursor:
        cursor.execute(SQL, {"n": n})
        return cursor.fetchone()[0]


def test_it_answers_like_any_cursor_on_every_backend(django_assert_num_queries):
    with django_assert_num_queries(2) as queries:  # counted and logged like the ORM's queries
        assert [run(1), run(41)] == [2, 42]
    assert all("riskops_prepared_probe" in q["sql"] for q in queries.captured_queries)


@pytest.mark.postgres
def test_the_statement_is_prepared_once_and_nothing_else_is():
    run(1)
    run(2)
    mine = [s for s in prepared_statements() if "riskops_prepared_probe" in s]
    assert len(mine) == 1
    # the ORM's own queries stay unprepared (client-side binding, as Django connects)
    list(connection.introspection.table_names())
    assert all("riskops_prepared_probe" in s for s in prepared_statements())


@pytest.mark.postgres
def test_a_rollback_drops_the_statements_and_the_next_use_prepares_again():
    run(1)
    with pytest.raises(DatabaseError):  # psycopg's error, translated as Django's
        with transaction.atomic():
            run(2)
            with prepared_cursor() as cursor:
                cursor.execute("SELECT 1 / 0")
    assert run(3) == 4
    assert any("riskops_prepared_probe" in s for s in prepared_statements())


@pytest.mark.postgres
@override_settings(RISKOPS_PREPARED_STATEMENTS=False)
def test_switched_off_nothing_is_prepared():
    connection.close()  # a fresh connection: no statement left from another test
    assert run(5) == 6
    assert not [s for s in prepared_statements() if "riskops_prepared_probe" in s]
