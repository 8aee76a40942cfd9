#!/usr/bin/env bash
# Installs what sieve needs to build and test on Debian 12. Idempotent: it only
# asks apt for packages that are missing, and downloads nothing else.
set -euo pipefail

packages=(cmake ninja-build g++ python3 llvm-19-dev llvm-19-tools libmlir-19-dev
          mlir-19-tools nlohmann-json3-dev libcli11-dev libgtest-dev libgmock-dev
          python3-numpy python3-pytest help2man pkg-config)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "setup: all packages present"
  exit 0
fi
echo "setup: installing ${missing[*]}"
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
