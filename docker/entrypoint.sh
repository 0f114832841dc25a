#!/bin/sh
# The image's roles, chosen by the command:
#   api      the HTTP API (the default): python -m api.serve
#   worker   the outbox, the schedules and the live ranks: python -m api.worker
#   migrate  once per deployment, before the API and the worker start: the database roles (when
#            DATABASE_ADMIN_URL names a superuser), then the schema to head as its owner
# Anything else runs as given, e.g. `pioneer …` for the administration commands.
set -eu

case "${1:-api}" in
    api)
        exec python -m api.serve
        ;;
    worker)
        exec python -m api.worker
        ;;
    migrate)
        if [ -n "${DATABASE_ADMIN_URL:-}" ]; then
            pioneer db-roles --admin-url "$DATABASE_ADMIN_URL"
        fi
        exec alembic upgrade head
        ;;
    *)
        exec "$@"
        ;;
esac
