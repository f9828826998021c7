#!/usr/bin/env bash
# Lake quick start: installs what is missing, builds a release `lake`, installs it in
# /usr/local/bin (and the mount(8) helper in /sbin), creates the default store, uploads the example
# files shipped in the repo and mounts the lake at /lake.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=system-packages.sh
. "$repo/mount-helpers/system-packages.sh"
lake_install_system_packages
# shellcheck source=fuse-io-uring.sh
. "$repo/mount-helpers/fuse-io-uring.sh"
lake_enable_fuse_io_uring

cd "$repo"
echo "Building lake (release) …"
# The Swift runtime and Foundation go inside the binary: each command starts in about half the time.
swift build -c release --static-swift-stdlib --product lake
bin="$(swift build -c release --static-swift-stdlib --show-bin-path)/lake"
install_dir=/usr/local/bin
if [ -w "$install_dir" ]; then
    install -m 0755 "$bin" "$install_dir/lake"
    lake="$install_dir/lake"
else
    lake="$bin"
fi

init_output="$("$lake" init)"
echo "$init_output"
if [[ "$init_output" == Created* ]]; then
    echo "Uploading the examples in docs/examples/data …"
    "$lake" upload "$repo"/docs/examples/data/* --geometry-units mm --tag source=quick-start
fi
if [ -w /sbin ]; then install -m 0755 "$repo/mount-helpers/mount.fuse.lake" /sbin/mount.fuse.lake; fi
# The man page, lake(1).
if mkdir -p /usr/local/share/man/man1 2>/dev/null && [ -w /usr/local/share/man/man1 ]; then
    "$lake" manual > /usr/local/share/man/man1/lake.1
fi
# Tab completion for bash (other shells: lake completion zsh|fish).
if [ -d /etc/bash_completion.d ] && [ -w /etc/bash_completion.d ]; then
    "$lake" completion bash > /etc/bash_completion.d/lake
fi
echo
echo "What the lake holds:"
"$lake" object ls
mountpoint=/lake
mkdir -p "$mountpoint"
if grep -q " $mountpoint fuse.lake " /proc/self/mounts; then
    echo "The lake is already mounted at $mountpoint."
else
    "$lake" mount "$mountpoint"
fi
echo
wave="$("$lake" object ls --name-contains wave.vtu | awk '/^obj-/ {print $1; exit}')"
echo "Try: lake object show ${wave:-<id>}      (wave.vtu: three fields, their statistics and histograms)"
echo "     getfattr -n user.lake.provisions --only-values $mountpoint/objects/${wave:-<id>}/file"
echo "     ls $mountpoint/objects   cp run.vtu $mountpoint/incoming/"
