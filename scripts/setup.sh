#!/usr/bin/env bash
# Installs what the tests need on a fresh Debian machine with Go: the pinned
# MinIO server (built once and cached). Safe to run again: it installs only
# what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/minio.sh >/dev/null

# Chromium drives the web interface's end-to-end tests (api/web). Install
# it only when it is missing, and refresh the package lists only then.
if ! command -v chromium >/dev/null 2>&1; then
	if [ "$(id -u)" -ne 0 ]; then
		echo "setup: chromium is missing; install it with: sudo apt-get install -y --no-install-recommends chromium" >&2
	else
		export DEBIAN_FRONTEND=noninteractive
		if ! apt-get install -y --no-install-recommends chromium >/dev/null 2>&1; then
			apt-get update >/dev/null
			apt-get install -y --no-install-recommends chromium >/dev/null
		fi
	fi
fi

# poppler-utils gives search/extract its pdftotext (without it PDFs are
# indexed on their metadata only), and hunspell-vi the Vietnamese word list
# the search benchmarks generate their corpus from. Install what is missing,
# and refresh the package lists only when an install needs it.
missing=()
for pkg in poppler-utils hunspell-vi; do
	dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
	if [ "$(id -u)" -ne 0 ]; then
		echo "setup: ${missing[*]} missing; install with: sudo apt-get install -y --no-install-recommends ${missing[*]}" >&2
	else
		export DEBIAN_FRONTEND=noninteractive
		if ! apt-get install -y --no-install-recommends "${missing[@]}" >/dev/null 2>&1; then
			apt-get update >/dev/null
			apt-get install -y --no-install-recommends "${missing[@]}" >/dev/null
		fi
	fi
fi
