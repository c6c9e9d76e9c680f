#!/usr/bin/env bash
# Regenerate 0001_initial from the models. Only while nothing has been deployed:
# once a release is out, add new migrations with `flask db migrate` instead.
# The data migrations (0002 onwards) are set aside while 0001 is generated.
set -euo pipefail
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
trap 'mv "$tmp"/keep/*.py migrations/versions/ 2>/dev/null || true; rm -rf "$tmp"' EXIT
mkdir "$tmp/keep"
find migrations/versions -maxdepth 1 -name '*.py' ! -name '0001_initial.py' -exec mv {} "$tmp/keep/" \;
rm -f migrations/versions/0001_initial.py
export FLASK_APP=wsgi.py PORTAL_ENV=development DATABASE_URL="sqlite:///$tmp/regen.db"
.venv/bin/flask db migrate -m "initial schema" --rev-id 0001_initial >"$tmp/log" 2>&1 || { cat "$tmp/log"; exit 1; }
mv migrations/versions/0001_initial_initial_schema.py migrations/versions/0001_initial.py
echo "regenerated migrations/versions/0001_initial.py"
