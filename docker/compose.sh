#!/usr/bin/env bash
# The deployment's one-command helpers, behind `make up`, `make down`, `make logs`, `make restart-airflow`
# and `make rebuild`. Uses `docker compose` (v2) when present, else `docker-compose` (v1.29).
#   up        .env when missing (random secrets, admin/admin), build, `up -d`, wait until every service is
#             healthy (airflow-init: exited 0), print the addresses
#   down      `down` (volumes kept: runs, models and predictions survive)
#   logs [S]  the last lines of every service's log, or of service S
#   restart-airflow   restart every Airflow service (what the spec's "restart airflow-webserver ..." means
#                     with Airflow 3, which has an API server and a DAG processor instead)
#   rebuild   the spec's full rebuild: down, build --no-cache, up -d, wait
set -euo pipefail
cd "$(dirname "$0")/.."

if docker compose version >/dev/null 2>&1; then
    compose=(docker compose)
elif command -v docker-compose >/dev/null; then
    compose=(docker-compose)
else
    echo "neither \`docker compose\` nor \`docker-compose\` is installed (Debian: apt-get install docker-compose)" >&2
    exit 1
fi
AIRFLOW_SERVICES=(airflow-apiserver airflow-scheduler airflow-dag-processor airflow-triggerer airflow-worker)

env_value() {  # the value of $1 in .env, else $2
    local line
    line="$(grep -E "^$1=" .env 2>/dev/null | tail -n1 || true)"
    echo "${line#*=}" | grep . || echo "$2"
}

make_env() {
    [[ -f .env ]] && return 0
    if command -v python3 >/dev/null; then
        python3 docker/make_env.py
    else  # as the calling user: a root-owned 0600 .env would lock compose out
        docker run --rm --user "$(id -u):$(id -g)" -v "$PWD:/src" -w /src python:3.11-slim-bookworm \
            python docker/make_env.py
    fi
}

wait_healthy() {  # every container of the project healthy (or, for one-shots, exited 0)
    local deadline=$((SECONDS + ${PREDMAINT_UP_TIMEOUT_S:-900})) pending id state
    while :; do
        pending=()
        for id in $("${compose[@]}" ps -q); do
            state="$(docker inspect --format '{{.Name}} {{.State.Status}} {{.State.ExitCode}} {{if .State.Health}}{{.State.Health.Status}}{{end}}' "$id")"
            read -r name status code health <<<"$state"
            case "$status/$health" in
                running/healthy | exited/) [[ "$status" == running || "$code" == 0 ]] || {
                    echo "${name#/} exited with $code: ${compose[*]} logs ${name#/}" >&2; return 1; } ;;
                *) pending+=("${name#/}:${health:-$status}") ;;
            esac
        done
        ((${#pending[@]} == 0)) && return 0
        if ((SECONDS > deadline)); then
            echo "not healthy in time: ${pending[*]} (${compose[*]} ps; ${compose[*]} logs SERVICE)" >&2
            return 1
        fi
        sleep 5
    done
}

addresses() {
    local ui api
    ui="$(env_value UI_BIND_ADDRESS 127.0.0.1)"
    api="$(env_value API_BIND_ADDRESS 127.0.0.1)"
    [[ "$ui" == 0.0.0.0 ]] && ui=localhost
    [[ "$api" == 0.0.0.0 ]] && api=localhost
    echo "Airflow: http://$ui:$(env_value AIRFLOW_PORT 8080)  (login: $(env_value AIRFLOW_ADMIN_USERNAME admin) / the AIRFLOW_ADMIN_PASSWORD of .env)"
    echo "MLflow:  http://$ui:$(env_value MLFLOW_PORT 5000)"
    echo "API:     http://$api:$(env_value API_PORT 8000)/docs"
}

case "${1:-}" in
    up)
        make_env
        "${compose[@]}" build
        "${compose[@]}" up -d
        echo "waiting until every service is healthy (first start: a few minutes)"
        wait_healthy
        addresses
        ;;
    down) "${compose[@]}" down ;;
    logs) "${compose[@]}" logs --tail "${TAIL:-200}" ${2:+"$2"} ;;
    restart-airflow) "${compose[@]}" restart "${AIRFLOW_SERVICES[@]}" && wait_healthy ;;
    rebuild)
        "${compose[@]}" down
        "${compose[@]}" build --no-cache
        "${compose[@]}" up -d
        wait_healthy
        addresses
        ;;
    *) sed -n '2,12p' "$0" >&2; exit 2 ;;
esac
