"""Every process loads the apps (web and Celery workers, each manage.py command): the model code's
heavy libraries must not come with them. optbinning, scikit-learn and scipy.stats took 5 s to
import, which a draw check's worker paid before its first answer."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HEAVY = ("optbinning", "sklearn", "scipy.stats", "pandas")


def test_loading_the_apps_and_the_urls_leaves_the_model_libraries_alone():
    code = (
        "import os, sys, django\n"
        "os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'riskops.settings')\n"
        "django.setup()\n"
        f"print('setup:' + ','.join(m for m in {HEAVY!r} if m in sys.modules))\n"
        "from django.urls import resolve\n"
        "resolve('/')\n"
        f"print('urls:' + ','.join(m for m in {HEAVY[:3]!r} if m in sys.modules))\n"
    )
    env = {**os.environ, "DEBUG": "true"}
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True)
    lines = done.stdout.splitlines()
    assert "setup:" in lines
    assert "urls:" in lines  # the model pages' modules load numpy and pandas, never the fitting libraries
