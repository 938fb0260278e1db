#!/usr/bin/env bash
# Installs the pinned MinIO server (an external test server only; no MinIO
# code is linked into Khomat) and prints the path of its binary. The binary is
# cached by version under $KHOMAT_CACHE (default ~/.cache/khomat), so it is
# built once per machine (about 5 minutes on 2 cores).
set -euo pipefail
MINIO_VERSION=v0.0.0-20260212201848-7aac2a2c5b7c
cache=${KHOMAT_CACHE:-$HOME/.cache/khomat}
dir="$cache/minio-$MINIO_VERSION"
if [ ! -x "$dir/minio" ]; then
	echo "building MinIO server $MINIO_VERSION into $dir (once per machine)..." >&2
	mkdir -p "$dir"
	tmp=$(mktemp -d)
	# Build outside the module so Khomat's go.mod is untouched.
	(cd "$tmp" && GOBIN="$dir" GOFLAGS=-mod=mod go install "github.com/minio/minio@$MINIO_VERSION") >&2
	rm -rf "$tmp"
fi
echo "$dir/minio"
