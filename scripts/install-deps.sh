#!/usr/bin/env bash
# Install what istrigger needs to build, test, benchmark and demo on Debian 12, only when
# something is missing (quick when everything is there). Needs root (apt-get).
set -euo pipefail
cd "$(dirname "$0")/.."

# One package per line; add to this list rather than installing anything by hand.
packages=(
    build-essential pkg-config clang llvm libclang-rt-14-dev clang-format cppcheck
    libcurl4-openssl-dev libjansson-dev libyaml-dev libssl-dev libmicrohttpd-dev libcmocka-dev
    openssl ca-certificates curl jq
    python3 python3-pytest python3-yaml python3-cryptography
    docker-registry skopeo apache2-utils
    chromium fonts-dejavu-core prometheus
)

missing=()
for p in "${packages[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing+=("$p")
    fi
done
if ! command -v kubectl >/dev/null 2>&1; then
    missing+=(kubernetes-client)
fi
# npm for the browser test's one npm package (below); Debian's `npm` unless one is installed.
if ! command -v npm >/dev/null 2>&1; then
    missing+=(npm)
fi
if [ ${#missing[@]} -gt 0 ]; then
    echo "install-deps: installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# npm packages for the browser tests (Chromium from Debian, playwright-core from npm).
if [ -f test/browser/package.json ] && [ ! -d test/browser/node_modules/playwright-core ]; then
    (cd test/browser && npm install --no-audit --no-fund --silent)
fi
