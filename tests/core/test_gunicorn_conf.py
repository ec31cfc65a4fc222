"""gunicorn.conf.py: each worker freezes what it loaded, so full collections skip it."""

import gc
import importlib.util
from pathlib import Path

CONF = Path(__file__).resolve().parents[2] / "gunicorn.conf.py"


def test_a_worker_freezes_the_loaded_app_and_its_views():
    spec = importlib.util.spec_from_file_location("gunicorn_conf", CONF)
    conf = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(conf)
    gc.unfreeze()
    try:
        conf.post_worker_init(worker=None)
        frozen = gc.get_freeze_count()
        assert frozen > 50_000  # the app's modules, classes and URLconf, not a handful
        assert gc.get_count()[2] == 0 and len(gc.get_objects(generation=2)) < frozen / 10
    finally:
        gc.unfreeze()
