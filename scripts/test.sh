#!/usr/bin/env bash
# The test command (`make test`): installs what the tests need, checks
# formatting and vet, runs every test against a real MinIO server, then runs
# each fuzz target for a short while. Run it on a fresh machine with only Go
# and Debian: it installs the rest.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
./scripts/lint.sh
# CI is set by the CI runner; tests that need S3 fail rather than skip then.
./scripts/with-minio.sh go test -count=1 -timeout=60m ./...
./scripts/fuzz.sh
