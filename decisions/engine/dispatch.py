"""Sending the app's Celery tasks by their registered name.

`decisions/tasks.py` is the Celery entry point: its tasks import the services. A service that
enqueues a task (a run's chunks, a customer's recompute) looks the task up in Celery's registry
here instead of importing `decisions.tasks`, so no module of the engine, casework or governance
imports the layer above it, and no import circle runs between services and tasks. A worker
registers the tasks when it starts (Celery's autodiscovery); a web or command process that has not
loaded them yet loads the module by name on the first lookup, as autodiscovery would. The task is
the same object a `from decisions.tasks import …` gives, `delay_on_commit` included.
"""

import importlib

from celery import Task, current_app

MODULE = "decisions.tasks"


def task(name: str) -> Task:
    key = f"{MODULE}.{name}"
    if key not in current_app.tasks:
        importlib.import_module(MODULE)
    return current_app.tasks[key]
