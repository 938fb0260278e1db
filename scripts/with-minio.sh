#!/usr/bin/env bash
# Runs a command with a throw-away MinIO server on a free loopback port and
# KHOMAT_TEST_S3_ENDPOINT, KHOMAT_TEST_S3_ACCESS_KEY and
# KHOMAT_TEST_S3_SECRET_KEY pointing at it. See scripts/withminio.
set -euo pipefail
cd "$(dirname "$0")/.."
minio=$(./scripts/minio.sh)
go build -o "${TMPDIR:-/tmp}/khomat-withminio" ./scripts/withminio
exec "${TMPDIR:-/tmp}/khomat-withminio" -minio "$minio" -- "$@"
