#!/usr/bin/env bash
# Runs Lake's whole test suite, installing the system packages it needs first.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=system-packages.sh
. "$repo/mount-helpers/system-packages.sh"
lake_install_system_packages

cd "$repo"
swift build --build-tests
swift test
