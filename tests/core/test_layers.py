"""The house's layers (.importlinter): a lower app never imports a higher one."""

from pathlib import Path

import grimp
from importlinter.cli import lint_imports

ROOT = Path(__file__).resolve().parents[2]
APPS = ("riskops", "accounts", "decisions", "compliance", "api", "draws", "webhooks", "modelling", "synthetic")


def test_the_layer_contract_is_kept(monkeypatch):
    monkeypatch.chdir(ROOT)
    assert lint_imports(config_filename=str(ROOT / ".importlinter")) == 0


def test_the_knots_that_ran_back_up_stay_untied():
    graph = grimp.build_graph(*APPS)
    for importer, imported in [
        ("decisions", "webhooks"),  # the engine announces written decisions (decisions/engine/announcements.py)
        ("decisions", "draws"),  # the profile renders panels other apps register
        ("decisions", "modelling"),
        ("riskops.core", "compliance"),  # verify_audit lives in compliance
        ("riskops.core", "api"),  # the demo token is the api app's (bootstrap is in synthetic)
        ("api", "draws"),  # the draw-check route is added in riskops/urls.py
        ("accounts", "decisions"),
        # the Celery entry point imports the layers; they send its tasks by name (engine/dispatch.py)
        ("decisions.engine", "decisions.tasks"),
        ("decisions.governance", "decisions.tasks"),
        ("decisions.casework", "decisions.tasks"),
    ]:
        assert not graph.direct_import_exists(importer=importer, imported=imported, as_packages=True), (importer, imported)
