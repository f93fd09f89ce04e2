#!/bin/sh
# Rebuilds wasm-bytes.ts from gemm.c: a plain SIMD build and a relaxed-SIMD build (fused multiply-add).
# A development tool only (needs clang-14 and lld-14, e.g. `apt-get install clang-14 lld-14`); the generated
# wasm-bytes.ts is committed, so installing and building the project never needs a C compiler.
set -eu
cd "$(dirname "$0")"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
flags="--target=wasm32 -O3 -msimd128 -matomics -mbulk-memory -nostdlib -fno-builtin -ffreestanding
  -Wall -Wextra -Werror -Wl,--no-entry -Wl,--import-memory -Wl,--shared-memory -Wl,--max-memory=4294967296
  -Wl,--strip-debug"
clang-14 $flags -o "$tmp/simd.wasm" gemm.c
clang-14 $flags -mrelaxed-simd -DRELAXED -o "$tmp/relaxed-proto.wasm" gemm.c
for w in "$tmp/simd.wasm" "$tmp/relaxed-proto.wasm"; do
  # Every thread instantiates the module on one memory with the same stack pointer: the code must not use it.
  if llvm-objdump-14 -d "$w" | grep -q 'global\.[gs]et'; then echo "build.sh: $w uses the shadow stack" >&2; exit 1; fi
  if llvm-objdump-14 -h "$w" | grep -q ' DATA '; then echo "build.sh: $w has a data segment" >&2; exit 1; fi
done
node patch-relaxed.mjs "$tmp/relaxed-proto.wasm" "$tmp/relaxed.wasm"
node embed.mjs "$tmp/simd.wasm" "$tmp/relaxed.wasm" > wasm-bytes.ts
echo "wasm-bytes.ts: simd $(wc -c < "$tmp/simd.wasm") bytes, relaxed $(wc -c < "$tmp/relaxed.wasm") bytes"
