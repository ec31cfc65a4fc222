"""Words for model monitoring, shared by the health page, the overview panel and the command."""

from django.utils.translation import gettext as _, gettext_lazy

from .drift import SCORE
from .models import ModelReference

LEVEL_NAMES = {
    "stable": gettext_lazy("stable"),
    "warning": gettext_lazy("warning: the population is shifting"),
    "alert": gettext_lazy("alert: not the population the model was developed on"),
}
SOURCE_NAMES = {
    ModelReference.Source.DEVELOPMENT: gettext_lazy("the development sample"),
    ModelReference.Source.BOOK: gettext_lazy("the book on the first night monitored"),
}


def level_name(level: str) -> str:
    return str(LEVEL_NAMES.get(level, level))


def reference_source_name(source: str | None) -> str:
    return str(SOURCE_NAMES.get(source, source or ""))


def metric_name(metric: str) -> str:
    """The score's PSI by name; a feature's CSI is the feature's (code) name."""
    return _("Score (PSI)") if metric == SCORE else metric
