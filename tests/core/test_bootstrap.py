import pytest
from django.contrib.auth import authenticate
from django.core.management import CommandError, call_command


@pytest.mark.django_db
def test_bootstrap_creates_one_user_per_role_whose_printed_password_works(capsys, settings):
    settings.DEBUG = True
    call_command("bootstrap")
    out = capsys.readouterr().out

    for username, role in [("analyst", "analyst"), ("compliance", "compliance"), ("riskadmin", "risk_admin")]:
        line = next(line for line in out.splitlines() if f" {username} " in line)
        password = line.split()[-1]
        user = authenticate(username=username, password=password)
        assert user is not None, line
        assert list(user.groups.values_list("name", flat=True)) == [role]
    # the printed API token works against the service API
    token = next(line for line in out.splitlines() if "API token:" in line).split("API token:")[1].strip()
    from django.test import Client

    from tests.factories import CustomerFactory

    CustomerFactory(external_id="C-1")
    assert Client().get("/api/v1/customers/C-1/decision", HTTP_AUTHORIZATION=f"Bearer {token}").status_code == 200


@pytest.mark.django_db
def test_bootstrap_is_idempotent(settings):
    settings.DEBUG = True
    call_command("bootstrap")
    call_command("bootstrap")
    from django.contrib.auth.models import User

    assert User.objects.filter(username="analyst").count() == 1


@pytest.mark.django_db
def test_bootstrap_refuses_without_debug_unless_forced(settings):
    settings.DEBUG = False
    with pytest.raises(CommandError, match="DEBUG off"):
        call_command("bootstrap")
    call_command("bootstrap", force=True)
