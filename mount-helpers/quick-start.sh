#!/usr/bin/env bash
# Lake quick start: installs what is missing, builds a release `lake`, installs it in
# /usr/local/bin, creates the default store and uploads the example files shipped in the repo.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=system-packages.sh
. "$repo/mount-helpers/system-packages.sh"
lake_install_system_packages

cd "$repo"
echo "Building lake (release) …"
swift build -c release --product lake
bin="$(swift build -c release --show-bin-path)/lake"
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
echo
echo "What the lake holds:"
"$lake" object ls
echo
echo "Try: lake object show <id>   lake object get <id> -o -   lake verify"
