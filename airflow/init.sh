#!/usr/bin/env bash
# Airflow's one-time (and on-upgrade) setup, run by docker-compose.yml's airflow-init job and by the tests'
# production-shape cluster: the metadata schema (the FAB auth manager's tables too), socialrank's pools and
# connections, and the first admin user when AIRFLOW_ADMIN_PASSWORD is given (FAB auth manager). Safe to re-run:
# an existing user is kept as it is (change a password in the UI, not here).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

airflow db migrate
airflow pools import "$here/pools.json"
airflow connections import --overwrite "$here/connections.json"
if [[ -n "${AIRFLOW_ADMIN_PASSWORD:-}" ]]; then
  airflow users create --role Admin \
    --username "${AIRFLOW_ADMIN_USERNAME:-admin}" --password "$AIRFLOW_ADMIN_PASSWORD" \
    --firstname "${AIRFLOW_ADMIN_FIRSTNAME:-socialrank}" --lastname "${AIRFLOW_ADMIN_LASTNAME:-admin}" \
    --email "${AIRFLOW_ADMIN_EMAIL:-admin@socialrank.invalid}"
fi
