#!/usr/bin/env bash
# gofmt and go vet must both be clean.
set -euo pipefail
cd "$(dirname "$0")/.."
unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))
if [ -n "$unformatted" ]; then
	echo "gofmt would change these files:" >&2
	echo "$unformatted" >&2
	exit 1
fi
go vet ./...
