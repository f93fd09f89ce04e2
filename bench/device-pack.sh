#!/usr/bin/env bash
# Packs what bench/device.sh needs on a GPU machine that has no Node.js and no network: .device/pack.tar.xz holds
#   node_modules/  gpu.js, what it loads, and Dawn's linux-x64 build (the `webgpu` package) — nothing else
#   dist/          the compiled benchmark and backends
#   .runtime/bin/node               this machine's Node.js
#   .runtime/vulkan/                the Vulkan loader (Dawn's way to the GPU on Linux) and the GL dispatch libraries
#                                   NVIDIA's Vulkan driver loads, for machines without them
#   .runtime/glibc/                 glibc, libstdc++ and libgcc from Debian 13: Dawn's build needs GLIBC_2.38 and
#                                   GLIBCXX_3.4.32, newer than Debian 12's; used only where the machine's own are older
# Run from the repository after `npm install`; needs apt-get and Debian's package servers. The pack is about 40 MiB.
#
#   bash bench/device-pack.sh        # then carry .device (ignored by git) and run bench/device.sh there
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT="$PWD"
STAGE="$(mktemp -d)"
APT="$(mktemp -d)"
trap 'rm -rf "$STAGE" "$APT"' EXIT

node scripts/build.mjs >/dev/null

mkdir -p "$STAGE/node_modules/webgpu/dist" "$STAGE/.runtime/bin" "$STAGE/.runtime/vulkan" "$STAGE/.runtime/glibc"
cp -r dist "$STAGE/dist"
for module in gpu.js acorn gpu-mock.js; do
  cp -r "node_modules/$module" "$STAGE/node_modules/$module"
done
rm -rf "$STAGE/node_modules/gpu.js/dist" # the package's main is src/index.js; dist/ holds browser bundles
cp node_modules/webgpu/package.json node_modules/webgpu/index.js "$STAGE/node_modules/webgpu/"
cp node_modules/webgpu/dist/linux-x64.dawn.node "$STAGE/node_modules/webgpu/dist/"
cp "$(command -v node)" "$STAGE/.runtime/bin/node"

# Debian packages, unpacked here (never installed): the Vulkan loader from this system's release, the C and C++
# runtimes from Debian 13 (trixie)
LISTS="$APT/lists"
mkdir -p "$LISTS/partial" "$APT/cache/archives/partial" "$APT/deb"
echo 'deb http://deb.debian.org/debian trixie main' >"$APT/trixie.list"
TRIXIE=(-o "Dir::Etc::SourceList=$APT/trixie.list" -o Dir::Etc::SourceParts=/dev/null -o "Dir::State::Lists=$LISTS" -o "Dir::Cache=$APT/cache")
apt-get -q "${TRIXIE[@]}" update >/dev/null
mkdir -p "$APT/deb/gl" "$APT/deb/c"
# NVIDIA's Vulkan driver (libGLX_nvidia) needs the GL vendor-neutral dispatch libraries beside the loader
(cd "$APT/deb/gl" && apt-get -q download libvulkan1 libglvnd0 libglx0 libgl1 libegl1 libopengl0 libgles2 >/dev/null 2>&1)
(cd "$APT/deb/c" && apt-get -q "${TRIXIE[@]}" download libc6 libstdc++6 libgcc-s1 >/dev/null 2>&1)
for part in gl c; do
  for deb in "$APT/deb/$part"/*.deb; do
    dpkg -x "$deb" "$APT/root-$part"
  done
done
for lib in "$APT/root-gl/usr/lib/x86_64-linux-gnu"/*.so.[0-9]; do
  cp -L "$lib" "$STAGE/.runtime/vulkan/"
done
LIB="$APT/root-c/usr/lib/x86_64-linux-gnu"
for lib in ld-linux-x86-64.so.2 libc.so.6 libm.so.6 libdl.so.2 libpthread.so.0 librt.so.1 libstdc++.so.6 libgcc_s.so.1; do
  cp -L "$LIB/$lib" "$STAGE/.runtime/glibc/"
done

mkdir -p "$ROOT/.device"
tar -C "$STAGE" -cJf "$ROOT/.device/pack.tar.xz.tmp" .
mv "$ROOT/.device/pack.tar.xz.tmp" "$ROOT/.device/pack.tar.xz"
echo "wrote .device/pack.tar.xz ($(du -h "$ROOT/.device/pack.tar.xz" | cut -f1))"
