#!/usr/bin/env bash
# One command: install what is missing, build, run the whole suite. Reports land in
# reports/<kernel release>/ (JSON, JUnit XML, KTAP). Extra arguments go to nsconform, e.g.
#   ci/run-suite.sh --namespace pid --ktap -
set -euo pipefail
cd "$(dirname "$0")/.."
ci/install-deps.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
ninja -C build --quiet nsconform
exec build/nsconform --report-dir reports "$@"
