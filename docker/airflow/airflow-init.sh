#!/usr/bin/env bash
# airflow-init: the one-shot setup every other Airflow service waits for (service_completed_successfully).
#  1. migrate the metastore (idempotent: a no-op when the schema is current, an upgrade after a new image);
#  2. write the simple auth manager's password file from AIRFLOW_ADMIN_PASSWORD, so the login is the one
#     in .env (the spec's admin/admin by default) rather than a random password printed in a log.
# Run by the image's entrypoint (`command: bash ...`), which first waits until the database answers.
set -euo pipefail

: "${AIRFLOW_ADMIN_USERNAME:=admin}"
: "${AIRFLOW_ADMIN_PASSWORD:?AIRFLOW_ADMIN_PASSWORD must be set (see .env.example)}"
: "${AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE:?the passwords file location must be set}"
export AIRFLOW_ADMIN_USERNAME AIRFLOW_ADMIN_PASSWORD

echo "airflow-init: migrating the metastore"
airflow db migrate

echo "airflow-init: writing the password of '${AIRFLOW_ADMIN_USERNAME}' for the simple auth manager"
python - <<'PY'
"""Write {"<user>": "<password>"} atomically (temporary file + rename), readable by airflow only."""

import json
import os
from pathlib import Path

target = Path(os.environ["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE"])
target.parent.mkdir(parents=True, exist_ok=True)
tmp = target.with_name(target.name + ".tmp")
fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
with os.fdopen(fd, "w", encoding="utf-8") as handle:
    json.dump({os.environ["AIRFLOW_ADMIN_USERNAME"]: os.environ["AIRFLOW_ADMIN_PASSWORD"]}, handle)
    handle.write("\n")
tmp.replace(target)
PY

airflow version
echo "airflow-init: done"
