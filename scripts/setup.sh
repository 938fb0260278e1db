#!/usr/bin/env bash
# Installs what the tests need on a fresh Debian machine with Go: the pinned
# MinIO server (built once and cached). Safe to run again: it installs only
# what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/minio.sh >/dev/null
