#!/bin/sh
# Pre-start: bring the schema to head before the service accepts traffic.
set -e
alembic upgrade head
exec "$@"
