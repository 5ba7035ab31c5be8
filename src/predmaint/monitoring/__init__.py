"""Closing the loop: outcomes, realized performance, drift, decisions and the daily report.

Above inference (it reads what batch and API wrote), below the shells (API, CLI, DAGs) that call it.
"""
