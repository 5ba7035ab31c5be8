#!/usr/bin/env bash
# `make test-deploy`, step 1: a Docker engine and the four base images docker-compose.yml builds from.
#  * no engine answering: start `dockerd` when we are root and it is installed (Debian's docker.io);
#  * each base image (python, airflow, postgres, redis): use it when present, else pull it, else build the
#    stand-in of images/<name>/ from a debootstrap'ed Debian 12 base and tag it with the official name.
# Stand-ins are test fixtures (README.md beside this file says what differs); they carry the label
# org.predmaint.stand-in=true, and are rebuilt (from the layer cache: seconds) on every run.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
STATE="${PREDMAINT_DEPLOY_STATE:-/var/tmp/predmaint-deploy}"
BASE_IMAGE=predmaint-test/debian-bookworm:minbase
mkdir -p "$STATE"
log() { printf 'test-deploy: %s\n' "$*" >&2; }

ensure_tools() {
    local missing=()
    command -v dockerd >/dev/null || missing+=(docker.io)
    command -v docker-compose >/dev/null || docker compose version >/dev/null 2>&1 || missing+=(docker-compose)
    command -v debootstrap >/dev/null || missing+=(debootstrap)
    if ((${#missing[@]})) && [[ "$(id -u)" == 0 ]]; then
        log "installing ${missing[*]}"
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
    fi
}

ensure_engine() {
    docker info >/dev/null 2>&1 && return 0
    if [[ "$(id -u)" != 0 ]] || ! command -v dockerd >/dev/null; then
        log "no Docker engine answers and this user cannot start one: start dockerd, then rerun"
        exit 1
    fi
    log "starting dockerd (log: $STATE/dockerd.log)"
    nohup dockerd >"$STATE/dockerd.log" 2>&1 &
    for _ in $(seq 60); do
        docker info >/dev/null 2>&1 && return 0
        sleep 1
    done
    log "dockerd did not answer within 60 s: $STATE/dockerd.log"
    exit 1
}

debian_mirror() {
    # The mirror this machine's apt uses (deb822 URIs: or one-line deb), else Debian's CDN.
    local uri
    uri="$(grep -hE '^(URIs:|deb )' /etc/apt/sources.list /etc/apt/sources.list.d/* 2>/dev/null \
        | grep -v security | sed -E 's/^URIs: *//; s/^deb (\[[^]]*\] )?//' | awk '{print $1}' | head -n1 || true)"
    echo "${uri:-http://deb.debian.org/debian}"
}

ensure_base() {
    docker image inspect "$BASE_IMAGE" >/dev/null 2>&1 && return 0
    local dir="$STATE/rootfs"
    log "debootstrap Debian 12 minbase from $(debian_mirror) (about a minute)"
    rm -rf "$dir"
    debootstrap --variant=minbase bookworm "$dir" "$(debian_mirror)" >"$STATE/debootstrap.log" 2>&1 \
        || { tail -20 "$STATE/debootstrap.log" >&2; exit 1; }
    tar -C "$dir" -c . | docker import - "$BASE_IMAGE" >/dev/null
    rm -rf "$dir"
}

is_stand_in() {
    [[ "$(docker image inspect --format '{{ index .Config.Labels "org.predmaint.stand-in" }}' "$1" 2>/dev/null)" == "true" ]]
}

# official name -> stand-in folder, in build order (the Airflow stand-in builds on the Python one).
IMAGES=(
    "python:3.11-slim-bookworm python"
    "apache/airflow:3.3.2-python3.11 airflow"
    "postgres:16-bookworm postgres"
    "redis:7.2-bookworm redis"
)

ensure_images() {
    local entry image folder context
    for entry in "${IMAGES[@]}"; do
        read -r image folder <<<"$entry"
        if docker image inspect "$image" >/dev/null 2>&1 && ! is_stand_in "$image"; then
            continue
        fi
        if ! docker image inspect "$image" >/dev/null 2>&1 && timeout 60 docker pull -q "$image" >/dev/null 2>&1; then
            log "pulled $image"
            continue
        fi
        ensure_base
        context="$STATE/context-$folder"
        rm -rf "$context" && mkdir -p "$context"
        cp -a "$HERE/images/$folder/." "$context/"
        cp /etc/ssl/certs/ca-certificates.crt "$context/ca.crt"
        cp "$ROOT/requirements.lock" "$context/requirements.lock"
        log "building the stand-in for $image"
        docker build -q --build-arg BASE="$BASE_IMAGE" -t "$image" "$context" >/dev/null
    done
}

ensure_tools
ensure_engine
ensure_images
log "engine and base images ready"
