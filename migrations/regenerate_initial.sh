#!/usr/bin/env bash
# Regenerate 0001_initial from the models. Only while nothing has been deployed:
# once a release is out, add new migrations with `flask db migrate` instead.
set -euo pipefail
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
export FLASK_APP=wsgi.py PORTAL_ENV=development DATABASE_URL="sqlite:///$tmp/regen.db"
rm -f migrations/versions/0001_initial.py
.venv/bin/flask db migrate -m "initial schema" --rev-id 0001_initial >/dev/null 2>&1
mv migrations/versions/0001_initial_initial_schema.py migrations/versions/0001_initial.py
rm -rf "$tmp"
echo "regenerated migrations/versions/0001_initial.py"
