#!/usr/bin/env bash
# Installs the Debian packages the toolkit builds against, when they are missing.
# As root it uses apt-get; otherwise sudo when available; otherwise it names the packages to install.
set -euo pipefail

packages=(libdnnl-dev libopenblas-dev libpng-dev libturbojpeg0-dev libsqlite3-dev zlib1g-dev libcairo2-dev fonts-dejavu-core fontconfig dataset-fashion-mnist)
missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -eq 0 ]; then
    sudo=""
elif command -v sudo >/dev/null 2>&1; then
    sudo="sudo"
else
    echo "bootstrap: these Debian packages are missing: ${missing[*]}." >&2
    echo "bootstrap: install them as root: apt-get update && apt-get install -y ${missing[*]}" >&2
    exit 1
fi
echo "bootstrap: installing ${missing[*]}" >&2
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >&2
