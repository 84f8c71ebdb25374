#!/usr/bin/env bash
# CMK rotation benchmark: re-wrap and --reencrypt of a tenant with 100,000 metadata records, next
# to `openssl speed -evp aes-256-gcm` on the same machine in the same run (the cipher's limit).
# Usage: Benchmarks/key-rotation/run.sh [RECORDS]
set -euo pipefail
cd "$(dirname "$0")/../.."
RECORDS="${1:-100000}"
swift build -c release --scratch-path .build-release --product vpt-keys-bench >/dev/null
out=$(.build-release/release/vpt-keys-bench --records "$RECORDS")
echo "$out"
# openssl prints bytes per second in 1000s for each block size; take the 1024-byte column (the
# record size) and the 16384-byte one (its best case).
speed=$(openssl speed -evp aes-256-gcm -seconds 2 -bytes 1024 2>/dev/null | awk '/^AES-256-GCM|^aes-256-gcm/ {print $NF}' | tr -d k)
echo "benchmark=openssl_aes_256_gcm block_bytes=1024 mb_per_s=$(echo "scale=1; $speed * 1000 / 1000000" | bc)"
reenc=$(echo "$out" | awk -F'mb_per_s=' '/cmk_reencrypt/ {print $2}')
echo "benchmark=reencrypt_vs_openssl ratio=$(echo "scale=3; $reenc / ($speed * 1000 / 1000000)" | bc)"
