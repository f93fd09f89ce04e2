#!/usr/bin/env bash
# Benchmarks the gpu backend against the cpu backend on a Linux machine with an NVIDIA GPU (random 4096² V, rank 64,
# 200 MU iterations) and writes what it found and measured to $OUT. Runs from a copy of the repository whose
# node_modules came along, or that carries .device/pack.tar.xz (made by bench/device-pack.sh: Node.js, the modules,
# the Vulkan loader and a newer glibc for machines without them); needs no network. Finishes within about 5 minutes,
# and up to 4 more for the batched tile fits.
#
#   OUT=/some/dir bash bench/device.sh            # defaults: SIZE=4096 RANK=64 ITER=200 BUDGET=110 (s per backend)
#                                                 # PROFILE=0 skips the per-product profile (profile.txt) that follows
#                                                 # TILES=0 skips the batched tile fits (tiles.txt, gpu-tiles.json)
#   BENCH_FLAGS=--allow-software PROFILE_FLAGS=--allow-software TILES_FLAGS=--allow-software …   # also on a software adapter (a dry run)
set -uo pipefail
export PATH="$PATH:/usr/sbin:/sbin"

cd "$(dirname "${BASH_SOURCE[0]}")/.." || exit 2
OUT="${OUT:-$(mktemp -d)}"
mkdir -p "$OUT"
LOG="$OUT/device.log"
: >"$LOG"
say() { echo "$*" | tee -a "$LOG"; }

SIZE="${SIZE:-4096}"
RANK="${RANK:-64}"
ITER="${ITER:-200}"
BUDGET="${BUDGET:-110}"

say "== card"
if command -v nvidia-smi >/dev/null 2>&1; then
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>&1 | tee "$OUT/nvidia-smi.txt" | tee -a "$LOG"
else
  say "nvidia-smi: not found (no NVIDIA driver tools on this machine)"
fi

if [ -f .device/pack.tar.xz ] && { [ ! -x .runtime/bin/node ] || [ ! -e node_modules/gpu.js/package.json ] || [ ! -e node_modules/webgpu/package.json ]; }; then
  say "== unpacking .device/pack.tar.xz"
  tar -xJf .device/pack.tar.xz || { say "unpack failed"; exit 4; }
fi
RUNTIME="$PWD/.runtime"
export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-/tmp}"

say "== node"
NODE=""
for candidate in "$RUNTIME/bin/node" "$(command -v node 2>/dev/null)" /usr/local/bin/node /usr/bin/node /opt/node/bin/node "$HOME"/.nvm/versions/node/*/bin/node /opt/nodejs/bin/node; do
  if [ -n "$candidate" ] && [ -x "$candidate" ]; then
    NODE="$candidate"
    break
  fi
done
if [ -z "$NODE" ]; then
  say "node: not found; this benchmark needs Node.js 20.19 or newer on the machine"
  echo '{"error":"node not found"}' >"$OUT/results.json"
  exit 3
fi
NODE_VERSION="$("$NODE" --version)"
say "node: $NODE $NODE_VERSION"
if ! "$NODE" -e 'const [a,b]=process.versions.node.split(".").map(Number); process.exit(a>20||(a===20&&b>=19)?0:1)'; then
  say "node: $NODE_VERSION is older than 20.19; results may not be valid"
fi

say "== what WebGPU (Dawn) needs"
LIBSTDCXX="$(ldconfig -p 2>/dev/null | awk '/libstdc\+\+\.so\.6 .*x86-64/ {print $NF; exit}')"
if [ -n "$LIBSTDCXX" ] && grep -qa 'GLIBCXX_3.4.32' "$LIBSTDCXX" 2>/dev/null; then
  say "libstdc++: $LIBSTDCXX has GLIBCXX_3.4.32"
else
  say "libstdc++: ${LIBSTDCXX:-not found} lacks GLIBCXX_3.4.32 (Dawn will not load)"
fi
if ! ldconfig -p 2>/dev/null | grep -q 'libvulkan\.so\.1 ' || ! ldconfig -p 2>/dev/null | grep -q 'libGLdispatch\.so\.0 '; then
  if [ -e "$RUNTIME/vulkan/libvulkan.so.1" ]; then
    # appended, so that libraries the machine has win over the carried ones
    export LD_LIBRARY_PATH="${LD_LIBRARY_PATH:+$LD_LIBRARY_PATH:}/usr/local/nvidia/lib64:/usr/lib/x86_64-linux-gnu:$RUNTIME/vulkan"
    say "vulkan loader or GL dispatch: not installed; using the carried ones"
  else
    say "vulkan loader or GL dispatch: not installed (Dawn may find no adapter)"
  fi
fi
ICDS="$(ls /usr/share/vulkan/icd.d /etc/vulkan/icd.d /usr/local/nvidia/share/vulkan/icd.d 2>/dev/null | tr '\n' ' ')"
say "vulkan ICDs: ${ICDS:-none found}"
# containers with NVIDIA's driver mounted keep its Vulkan manifest outside the loader's search path
NVIDIA_ICD=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
if [ -z "${VK_DRIVER_FILES:-}" ] && [ -f "$NVIDIA_ICD" ] && ! ls /usr/share/vulkan/icd.d/nvidia* /etc/vulkan/icd.d/nvidia* >/dev/null 2>&1; then
  export VK_DRIVER_FILES="$NVIDIA_ICD"
  say "VK_DRIVER_FILES=$NVIDIA_ICD"
fi

# Node runs through the carried glibc's loader where the machine's C or C++ runtime is too old for Dawn
RUN=("$NODE")
DAWN_CHECK='import("webgpu").then((m) => { m.create([]); process.exit(0); }, (e) => { console.log(String(e.message).split("\n")[0]); process.exit(1); })'
if DAWN_ERROR="$("${RUN[@]}" --input-type=module -e "$DAWN_CHECK" 2>&1)"; then
  say "dawn: loads with the system's libraries"
elif [ -x "$RUNTIME/glibc/ld-linux-x86-64.so.2" ]; then
  say "dawn: does not load with the system's libraries (${DAWN_ERROR}); trying the carried glibc"
  RUN=("$RUNTIME/glibc/ld-linux-x86-64.so.2" --library-path "$RUNTIME/glibc:${LD_LIBRARY_PATH:+$LD_LIBRARY_PATH:}/lib/x86_64-linux-gnu:/usr/lib/x86_64-linux-gnu:/usr/lib64:/lib64" "$NODE")
  if DAWN_ERROR="$("${RUN[@]}" --input-type=module -e "$DAWN_CHECK" 2>&1)"; then
    say "dawn: loads with the carried glibc"
  else
    say "dawn: does not load with the carried glibc either (${DAWN_ERROR})"
  fi
else
  say "dawn: does not load (${DAWN_ERROR})"
fi

say "== modules"
for module in gpu.js webgpu gl typescript; do
  if [ -e "node_modules/$module/package.json" ]; then
    say "$module: $("$NODE" -p "require('./node_modules/$module/package.json').version")"
  else
    say "$module: missing"
  fi
done

say "== build"
if [ ! -f dist/bench/gpu-device.js ] || [ ! -f dist/src-main/backends/gpu/index.js ]; then
  if [ ! -e node_modules/typescript/bin/tsc ]; then
    say "build: dist/ is missing and typescript is not installed; cannot build"
    exit 4
  fi
  if ! "$NODE" node_modules/typescript/bin/tsc -p tsconfig.json >>"$LOG" 2>&1; then
    say "build: tsc failed (see device.log)"
    exit 4
  fi
fi
say "build: ok"

say "== benchmark (V ${SIZE}×${SIZE}, rank ${RANK}, ${ITER} iterations)"
# the benchmark's own budget stops each backend in time; this limit only catches a hung driver
CARD="$(head -n 1 "$OUT/nvidia-smi.txt" 2>/dev/null | cut -d, -f1-2 | sed 's/, / (driver /; s/$/)/')"
timeout --kill-after=10 $((BUDGET * 2 + 60)) "${RUN[@]}" dist/bench/gpu-device.js --out "$OUT" --size "$SIZE" --rank "$RANK" --iter "$ITER" --budget "$BUDGET" ${CARD:+--card "$CARD"} ${BENCH_FLAGS:-} 2>&1 | tee -a "$LOG"
STATUS="${PIPESTATUS[0]}"

if [ "${PROFILE:-1}" = 1 ] && [ -f dist/bench/gpu-profile.js ]; then
  # where the GPU's time goes, product by product, in the same session (kept short: it is a diagnosis)
  say "== profile (V ${SIZE}×${SIZE}, rank ${RANK})"
  timeout --kill-after=10 120 "${RUN[@]}" dist/bench/gpu-profile.js --size "$SIZE" --rank "$RANK" --repeats 5 ${PROFILE_FLAGS:-} 2>&1 | tee "$OUT/profile.txt" | tee -a "$LOG"
fi

if [ "${TILES:-1}" = 1 ] && [ -f dist/bench/gpu-tiles.js ]; then
  # a photograph's worth of tile fits batched on the GPU against fitBlock on one host thread (gpu-tiles.json)
  say "== batched tile fits (750 tiles 128×128, ranks 2–12, 20 iterations)"
  timeout --kill-after=10 240 "${RUN[@]}" dist/bench/gpu-tiles.js --out "$OUT" ${TILES_FLAGS:-} 2>&1 | tee "$OUT/tiles.txt" | tee -a "$LOG"
fi

say "== exit status $STATUS"
exit "$STATUS"
