import pytest

from draws import services


@pytest.fixture(autouse=True)
def _draw_read_windows_start_from_the_defaults():
    """The read's windows follow the last rules used (process-wide): a test that activated a
    policy with other windows must not cost the next test a second read."""
    services._last_windows[0] = services._Windows.of(services.DrawRules())
    yield
