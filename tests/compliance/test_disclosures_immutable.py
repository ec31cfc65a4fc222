"""Published disclosures cannot be edited or deleted, even by SQL through the ORM, on both backends."""

import pytest
from django.core.management import call_command
from django.db import DatabaseError, connection, transaction

from accounts.models import Disclosure
from tests.factories import DisclosureFactory


def _refused(action) -> str:
    with pytest.raises(DatabaseError) as exc, transaction.atomic():
        action()
    return str(exc.value)


@pytest.mark.django_db
def test_an_orm_update_of_a_published_version_is_refused():
    disclosure = DisclosureFactory(kind="risk_disclosure", body="v1 text")
    message = _refused(lambda: Disclosure.objects.filter(pk=disclosure.pk).update(body="rewritten"))
    assert "immutable" in message
    disclosure.refresh_from_db()
    assert disclosure.body == "v1 text"


@pytest.mark.django_db
def test_save_of_a_changed_instance_is_refused():
    disclosure = DisclosureFactory(kind="privacy_notice")
    disclosure.title = "Quietly renamed"
    _refused(lambda: disclosure.save(update_fields=["title"]))
    assert Disclosure.objects.get(pk=disclosure.pk).title != "Quietly renamed"


@pytest.mark.django_db
def test_an_orm_delete_of_an_unreferenced_version_is_refused():
    # nothing references it, so only the database guard stands in the way (no PROTECT)
    disclosure = DisclosureFactory(kind="product_terms")
    _refused(lambda: Disclosure.objects.filter(pk=disclosure.pk).delete())
    _refused(lambda: disclosure.delete())
    assert Disclosure.objects.filter(pk=disclosure.pk).exists()


@pytest.mark.django_db
def test_raw_sql_update_and_delete_are_refused():
    disclosure = DisclosureFactory(kind="risk_disclosure")

    def raw(sql):
        with connection.cursor() as cursor:
            cursor.execute(sql, [disclosure.pk])

    _refused(lambda: raw("UPDATE accounts_disclosure SET version = version + 1000 WHERE id = %s"))
    _refused(lambda: raw("DELETE FROM accounts_disclosure WHERE id = %s"))
    assert Disclosure.objects.get(pk=disclosure.pk).version == disclosure.version


@pytest.mark.django_db
def test_publishing_a_new_version_is_an_insert_and_leaves_the_old_one_alone():
    old = DisclosureFactory(kind="risk_disclosure", version=1, body="first")
    DisclosureFactory(kind="risk_disclosure", version=2, body="second")
    old_row = Disclosure.objects.filter(pk=old.pk).values("body", "content_hash", "published_at").get()
    assert old_row == {"body": "first", "content_hash": old.content_hash, "published_at": old.published_at}
    assert Disclosure.objects.filter(kind="risk_disclosure").count() == 2


@pytest.mark.django_db(transaction=True)
def test_a_flush_still_empties_the_table_and_the_guard_is_back_afterwards():
    # the test runner flushes after a transactional test; on SQLite that is a DELETE
    DisclosureFactory(kind="risk_disclosure")
    call_command("flush", verbosity=0, interactive=False)
    assert not Disclosure.objects.exists()
    again = DisclosureFactory(kind="risk_disclosure")
    _refused(lambda: Disclosure.objects.filter(pk=again.pk).update(title="x"))
