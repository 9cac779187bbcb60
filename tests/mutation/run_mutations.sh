#!/usr/bin/env bash
# Mutation test: plants each fault of mutations.py into a copy of the source, rebuilds, and
# checks that real_rules_test fails on the rules the fault touches. Also checks that the
# unmutated copy passes the same tests (else "caught" would mean nothing). Needs root.
# Exit 0 only if every mutation is caught. Prints a table: mutation, rules, caught?
set -euo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d /tmp/nsconform-mutants.XXXXXX)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/src"
(cd "$src" && git ls-files -z --cached --others --exclude-standard | xargs -0 cp --parents -t "$work/src")
mut=$src/tests/mutation/mutations.py
mapfile -t files < <(python3 "$mut" list | cut -f2 | grep '^cases/.*\.cc$' | sort -u)
# Only the case files the mutations touch (and the requires_cap flow's users) are built.
globs="$(IFS=';'; echo "${files[*]}");cases/uts/*.cc"
cmake -S "$work/src" -B "$work/build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  "-DNSCONFORM_CASE_GLOB=$globs" >/dev/null
build() { ninja -C "$work/build" --quiet nsconform real_rules_test 2>&1 | grep -v getaddrinfo || true; }
filter_of() { local f="" r; for r in ${1//,/ }; do f+="*/${r//./_}:"; done; echo "${f%:}"; }
run_tests() {
  (cd "$work/build/tests" && ./real_rules_test --gtest_brief=1 --gtest_color=no \
    "--gtest_filter=$(filter_of "$1")" >"$work/last.log" 2>&1)
}

build
all_rules=$(python3 "$mut" list | cut -f3 | tr '\n' ',' | sed 's/,$//')
if ! run_tests "$all_rules"; then
  cat "$work/last.log"
  echo "mutation test: the UNMUTATED copy already fails the tests; nothing can be concluded" >&2
  exit 1
fi
printf '%-34s %-48s %s\n' mutation rules caught
missed=0
while IFS=$'\t' read -r name file rules; do
  cp "$src/$file" "$work/src/$file.orig"
  python3 "$mut" apply "$name" "$work/src"
  build
  if run_tests "$rules"; then verdict="NO  <-- $(python3 "$mut" describe "$name")"; missed=$((missed + 1))
  else verdict=yes; fi
  printf '%-34s %-48s %s\n' "$name" "$rules" "$verdict"
  mv "$work/src/$file.orig" "$work/src/$file"
done < <(python3 "$mut" list)
build
echo "$(( $(python3 "$mut" list | wc -l) - missed )) passed, $missed failed"
exit $((missed > 0))
