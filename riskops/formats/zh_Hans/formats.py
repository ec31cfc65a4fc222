"""Chinese pages write dates, times and numbers exactly as English ones (riskops/formats/__init__.py):
Django looks for a module per language, so this one takes the English one's values."""

from riskops.formats.en.formats import *  # noqa: F401,F403
