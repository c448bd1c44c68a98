#!/bin/sh
# The migration step's trigger, the command of the Cloud Run job infra/migrations/main.tf runs on
# every apply that changes the schema, the source, the login users or their passwords: one POST
# of $MIGRATE_BODY to the migrate_database function ($MIGRATE_URL) with an identity token of the
# job's service account (the only principal allowed to invoke it). The function's answer (applied
# migrations and login users, or the error) goes to the execution's log.
#
# Exit 0 on 200 only, so a failed migration fails the execution, which fails the job's update and
# with it `terraform apply`. While the invoker grant made in the same apply propagates (401/403)
# or the function starts (429, 5xx of the front end, no answer), it retries until
# $MIGRATE_DEADLINE_SECONDS; a 400 or 500 of the function itself is final (migrating again gives
# the same answer). tests/integration/test_migration_step.py runs this file as it is.
set -u

metadata="http://${GCE_METADATA_HOST:-metadata.google.internal}/computeMetadata/v1"
deadline=$(( $(date +%s) + ${MIGRATE_DEADLINE_SECONDS:-600} ))
answer=$(mktemp)

while :; do
  token=$(curl -sS --fail --max-time 10 -H 'Metadata-Flavor: Google' \
    "$metadata/instance/service-account/identity?audience=$MIGRATE_URL") || token=""
  status=000
  if [ -n "$token" ]; then
    status=$(curl -sS -o "$answer" -w '%{http_code}' --max-time "${MIGRATE_TIMEOUT_SECONDS:-1750}" \
      -X POST -H "Authorization: Bearer $token" -H 'Content-Type: application/json' \
      --data "$MIGRATE_BODY" "$MIGRATE_URL") || status=000
    cat "$answer"
    echo
  fi
  case "$status" in
    200)
      echo "migrate_database: done"
      exit 0
      ;;
    000 | 401 | 403 | 429 | 502 | 503 | 504)
      if [ "$(date +%s)" -ge "$deadline" ]; then
        echo "migrate_database: no answer but $status before the deadline" >&2
        exit 1
      fi
      sleep "${MIGRATE_RETRY_SECONDS:-15}"
      ;;
    *)
      echo "migrate_database: failed with HTTP $status (answer above)" >&2
      exit 1
      ;;
  esac
done
