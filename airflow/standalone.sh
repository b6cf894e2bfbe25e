#!/usr/bin/env bash
# `airflow standalone` that stops cleanly on Ctrl-C or SIGTERM. Standalone runs in its own process group;
# on a signal the whole group (standalone and its scheduler, api-server, dag-processor and triggerer) gets
# SIGTERM, which each component handles as a graceful shutdown. Called by `make airflow`.
set -uo pipefail
setsid airflow standalone &
standalone=$!
stop() {
  kill -TERM -- "-$standalone" 2>/dev/null
  for _ in $(seq 1 60); do
    pgrep -g "$standalone" >/dev/null || exit 0
    sleep 1
  done
  kill -KILL -- "-$standalone" 2>/dev/null
  exit 1
}
trap stop INT TERM
wait "$standalone"
