"""The test suite's settings: riskops/settings.py in the development profile, asked for explicitly.

riskops/settings.py defaults to the production profile (DEBUG off, a SECRET_KEY required). The
suite asks for development here rather than in a conftest because pytest-django imports the
settings before any conftest is read; `make test` says DEBUG=true as well. The variable is set in
the environment, so the subprocesses a test starts (a Celery worker, `manage.py spectacular`)
run in the same profile; tests of the production profile start theirs with DEBUG removed
(tests/core/test_settings.py).
"""

import os

os.environ.setdefault("DEBUG", "true")

from riskops.settings import *  # noqa: E402,F403
