#!/usr/bin/env bash
# Cheap source checks for the rules of cases/README.md that a compiler cannot enforce.
set -euo pipefail
cd "$(dirname "$0")/.."
status=0
complain() { echo "lint: $1"; status=1; }
# No sleeps for synchronisation in cases.
if grep -rnE '\b(u?sleep|nanosleep|sleep_for|sleep_until)\s*\(' cases; then
  complain "sleeps in cases/ (synchronise with Barrier, waitpid or pidfds)"
fi
# Nothing that allocates or is not async-signal-safe in case bodies.
if grep -rnE '\b(std::string|std::vector|std::map|std::cout|std::cerr|printf|fprintf|malloc|std::thread|pthread_create|EXPECT_[A-Z]+|ASSERT_[A-Z]+)\b' cases --include='*.cc'; then
  complain "allocation, stdio, threads or gtest assertions in cases/ (bodies run after fork)"
fi
# Every case ID is unique and belongs to its directory's group.
for f in cases/*/*.cc; do
  group=$(basename "$(dirname "$f")")
  grep -oE '\.id = "[^"]+"' "$f" | sed -E 's/.*"([^"]+)"/\1/' | while read -r id; do
    [[ $id == "$group".* ]] || { echo "lint: $f: rule $id is not in group $group"; exit 1; }
  done || status=1
done
exit $status
