"""Django's formats for each language (settings.FORMAT_MODULE_PATH): dates `YYYY-MM-DD`, times
`YYYY-MM-DD HH:MM` and comma thousands in English and Chinese alike, so whatever Django renders
itself (the admin's lists and pages, a bare `{{ value }}`) reads as riskops/core/formats.py
writes it on the pages."""
