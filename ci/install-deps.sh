#!/usr/bin/env bash
# Installs the Debian packages nsconform needs to build, run and test itself; only the
# missing ones, so a second call costs nothing. Needs root (or sudo) when something is missing.
set -euo pipefail
packages=(
  cmake ninja-build g++ pkg-config
  libgtest-dev libgmock-dev            # GoogleTest / GoogleMock: matchers, the project's tests
  libboost-dev libboost-filesystem-dev # Boost.Process (spawning programs) and its filesystem dep
  nlohmann-json3-dev                   # reports
  libvalijson-dev                      # JSON Schema validation of convert/compare input (header-only)
  zlib1g-dev                           # reading /proc/config.gz
  libxml2-utils                        # xmllint: JUnit against junit-4.xsd
  python3 python3-jsonschema           # JSON Schema validation of reports
  util-linux                           # setpriv/unshare for the unprivileged and sandboxed tests
  runc bubblewrap                      # real container runtimes for `nsconform runtime` tests
  qemu-system-x86                      # nsconform matrix: boots each kernel under QEMU
  cpio rpm2cpio                        # nsconform matrix: --kernel-package FILE.rpm
  xz-utils zstd lz4 binutils           # nsconform matrix: vmlinux out of a bzImage, .ko.xz, strip
  debian-archive-keyring               # nsconform matrix: the private apt configuration's keyring
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "installing: ${missing[*]}"
  sudo_cmd=()
  [[ $(id -u) -eq 0 ]] || sudo_cmd=(sudo)
  export DEBIAN_FRONTEND=noninteractive
  "${sudo_cmd[@]}" apt-get update -qq
  "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
