"""The fault-injection suite (issue 14): ``make chaos`` runs the full version, ``make test``
the short one through ``test_chaos.py``. See ``scenario.py`` for what it does and checks."""
