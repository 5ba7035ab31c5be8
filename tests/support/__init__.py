"""What the tests share that is not a fixture.

Fixtures stay in ``conftest.py`` files; tests import constants, factories and helpers from here,
never from a ``conftest.py`` or from another test module.

- ``project``: the real dataset (``SHARED_DATA``), the scored day ``DAY``, quick training
  settings ``FAST``, ``make_settings`` for a temporary project home.
- ``loopback``: ``free_port`` and ``http_json`` (127.0.0.1 only).
- ``asgi``: ``asgi_request``, one request to an ASGI app in process (no socket).
- ``waiting``: ``wait_for``, a bounded poll that fails with the servers' logs.
- ``processes``: ``Server``/``Servers``, real server processes stopped whole process group
  (:mod:`predmaint.process_group`, shared with the Airflow launcher and the benchmarks).
- ``services``: PostgreSQL and Redis on the loopback (private databases and key prefixes).
- ``mlflow_server``: ``mlflow server`` on PostgreSQL, and settings that use it.
- ``airflow_launcher``: the DAG folder, ``make airflow``'s launcher, the DagBag scripts.
- ``airflow_api``: log in, wait for a DAG, trigger a run, wait for it to finish.
- ``dagbag_describe``, ``dagbag_run``: scripts run by path in an Airflow subprocess.
- ``browser``: ``headless_chromium``, cut off from every host but the loopback.
- ``loop_days``: simulated scored days with outcomes, played through the monitoring loop.
"""
