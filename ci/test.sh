#!/usr/bin/env bash
# One command: install what is missing, build everything, run the project's own tests
# (GoogleTest via ctest). Run as root: the tests also run the suite as an unprivileged user
# (setpriv) and inside throwaway namespaces (unshare).
set -euo pipefail
cd "$(dirname "$0")/.."
ci/install-deps.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
ninja -C build --quiet
ci/lint.sh
cd build && ctest --output-on-failure "$@"
