#!/usr/bin/env bash
# `make test-deploy`, step 1: a Docker engine and the four base images docker-compose.yml builds from.
#  * no engine answering: start `dockerd` when we are root and it is installed (Debian's docker.io);
#  * each base image (python, airflow, postgres, redis): use it when present, else pull it, else build the
#    stand-in of images/<name>/ and tag it with the official name. The stand-ins build on one shared
#    base (images/base: PATH, apt, the host's CA bundle), itself built on a debootstrap'ed Debian 12.
# Stand-ins are test fixtures (README.md beside this file says what differs); they carry the label
# org.predmaint.stand-in=true, and are rebuilt (from the layer cache: seconds) on every run.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
STATE="${PREDMAINT_DEPLOY_STATE:-/var/tmp/predmaint-deploy}"
MINBASE_IMAGE=predmaint-test/debian-bookworm:minbase
STAND_IN_BASE=predmaint-test/debian-bookworm:stand-in-base
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

ensure_minbase() {
    docker image inspect "$MINBASE_IMAGE" >/dev/null 2>&1 && return 0
    local dir="$STATE/rootfs"
    log "debootstrap Debian 12 minbase from $(debian_mirror) (about a minute)"
    rm -rf "$dir"
    debootstrap --variant=minbase bookworm "$dir" "$(debian_mirror)" >"$STATE/debootstrap.log" 2>&1 \
        || { tail -20 "$STATE/debootstrap.log" >&2; exit 1; }
    tar -C "$dir" -c . | docker import - "$MINBASE_IMAGE" >/dev/null
    rm -rf "$dir"
}

# docker build of images/<folder>/ tagged <tag>; the context also holds what the Dockerfiles may copy
# from the host: its CA bundle (ca.crt, for the base) and requirements.lock (for Airflow).
build_stand_in() {
    local tag="$1" folder="$2" context="$STATE/context-$2"
    shift 2
    rm -rf "$context" && mkdir -p "$context"
    cp -a "$HERE/images/$folder/." "$context/"
    cp /etc/ssl/certs/ca-certificates.crt "$context/ca.crt"
    cp "$ROOT/requirements.lock" "$context/requirements.lock"
    docker build -q "$@" -t "$tag" "$context" >/dev/null
}

STAND_IN_BASE_READY=""
ensure_stand_in_base() {
    # Once per run, before the first stand-in (from the layer cache: seconds), so a change of
    # images/base/ or of the host's CA bundle reaches every stand-in.
    [[ -n "$STAND_IN_BASE_READY" ]] && return 0
    ensure_minbase
    log "building the stand-ins' base"
    build_stand_in "$STAND_IN_BASE" base --build-arg MINBASE="$MINBASE_IMAGE"
    STAND_IN_BASE_READY=1
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
    local entry image folder
    for entry in "${IMAGES[@]}"; do
        read -r image folder <<<"$entry"
        if docker image inspect "$image" >/dev/null 2>&1 && ! is_stand_in "$image"; then
            continue
        fi
        if ! docker image inspect "$image" >/dev/null 2>&1 && timeout 60 docker pull -q "$image" >/dev/null 2>&1; then
            log "pulled $image"
            continue
        fi
        ensure_stand_in_base
        log "building the stand-in for $image"
        build_stand_in "$image" "$folder" --build-arg BASE="$STAND_IN_BASE"
    done
}

ensure_tools
ensure_engine
ensure_images
log "engine and base images ready"
