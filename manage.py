#!/usr/bin/env python
import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "riskops.settings")
    from django.core.exceptions import ImproperlyConfigured
    from django.core.management import execute_from_command_line

    try:
        execute_from_command_line(sys.argv)
    except ImproperlyConfigured as exc:
        # A configuration the settings refuse (the production profile without SECRET_KEY, a
        # misspelt DEBUG): one line saying what to set, not a traceback.
        sys.exit(f"RiskOps cannot start: {exc}.\nFor development on this machine: DEBUG=true {' '.join(sys.argv)}\n(`make demo` and `make test` set it themselves.)")


if __name__ == "__main__":
    main()
