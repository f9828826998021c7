#!/usr/bin/env bash
# Installs the Debian packages Lake needs to build, run and test, when any is missing.
# Sourced by quick-start.sh and run-tests.sh.
# libcurl4 and libpq5 are loaded only by stores whose blobs are in a bucket or whose catalog is
# PostgreSQL. Arguments add packages (the test suite adds the PostgreSQL server it starts).
lake_system_packages=(libfuse3-dev fuse3 libsqlite3-dev sqlite3 libxml2-dev libdeflate-dev liblz4-dev liblzma-dev zlib1g-dev libcurl4
                      libpq5 pkg-config attr util-linux rsync)

lake_install_system_packages() {
    local missing=()
    for package in "${lake_system_packages[@]}" "$@"; do
        dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
    done
    if [ ${#missing[@]} -eq 0 ]; then
        return 0
    fi
    echo "Installing system packages: ${missing[*]}"
    local sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
}
