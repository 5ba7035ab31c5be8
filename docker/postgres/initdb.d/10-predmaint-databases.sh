#!/usr/bin/env bash
# First start of the postgres service only (empty data volume): one role and one database each for the
# Airflow metastore and the MLflow backend store, so neither can read or migrate the other's tables.
# Passwords come from the environment (AIRFLOW_DB_PASSWORD, MLFLOW_DB_PASSWORD) and reach psql as
# variables, quoted by psql itself (:'var'), never pasted into SQL text.
# Changing a password in .env later does not re-run this: see docs/deployment.md, "Troubleshooting".
set -euo pipefail

: "${AIRFLOW_DB_PASSWORD:?AIRFLOW_DB_PASSWORD must be set}"
: "${MLFLOW_DB_PASSWORD:?MLFLOW_DB_PASSWORD must be set}"
airflow_db="${AIRFLOW_DB_NAME:-airflow}"
mlflow_db="${MLFLOW_DB_NAME:-mlflow}"

psql --no-psqlrc --set ON_ERROR_STOP=1 \
    --username "${POSTGRES_USER:-postgres}" --dbname "${POSTGRES_DB:-postgres}" \
    --set airflow_db="${airflow_db}" --set airflow_pw="${AIRFLOW_DB_PASSWORD}" \
    --set mlflow_db="${mlflow_db}" --set mlflow_pw="${MLFLOW_DB_PASSWORD}" <<'SQL'
CREATE ROLE :"airflow_db" LOGIN PASSWORD :'airflow_pw';
CREATE DATABASE :"airflow_db" OWNER :"airflow_db";
CREATE ROLE :"mlflow_db" LOGIN PASSWORD :'mlflow_pw';
CREATE DATABASE :"mlflow_db" OWNER :"mlflow_db";
SQL

echo "predmaint: created databases ${airflow_db} and ${mlflow_db}, each owned by its own role"
