"""What the tests share that is not a fixture: the test project, loopback HTTP, waiting, real
server processes, PostgreSQL/Redis, MLflow and Airflow helpers, and the DagBag scripts Airflow
runs in a subprocess.

Fixtures stay in ``conftest.py`` files; tests import constants, factories and helpers from here,
never from a ``conftest.py`` or from another test module.
"""
