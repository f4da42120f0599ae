#!/usr/bin/env bash
# `make package`: release zips of every function crate (functions/*) for AWS Lambda, built by
# cargo-lambda, which cross-compiles with zig from the pinned `ziglang` package (.venv).
# arm64 as infra/template.yaml deploys; when the aarch64 standard library cannot be installed
# here, x86_64 with a warning (such zips do not match the template's Architectures).
# Prints each zip's size. Nothing here talks to AWS.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV="${VENV:-$(pwd)/.venv}"
export PATH="$VENV/bin:$PATH"

target=aarch64-unknown-linux-gnu
arch_flag=--arm64
if ! rustup target list --installed 2>/dev/null | grep -qx "$target"; then
  echo "== Installing the $target standard library (rustup) =="
  if ! rustup target add "$target"; then
    target=x86_64-unknown-linux-gnu
    arch_flag=--x86-64
    echo "WARNING: could not install the aarch64 target; building x86_64 instead." >&2
    echo "WARNING: set Architectures to [x86_64] in infra/template.yaml before deploying these zips." >&2
  fi
fi

packages=()
for manifest in functions/*/Cargo.toml; do
  name=$(sed -n 's/^name *= *"\(.*\)"/\1/p' "$manifest" | head -n 1)
  packages+=("$name")
done

echo "== cargo lambda build --release $arch_flag: ${packages[*]} =="
args=()
for name in "${packages[@]}"; do args+=(--package "$name"); done
cargo lambda build --release "$arch_flag" --output-format zip "${args[@]}"

echo
echo "== Lambda packages ($target) =="
for name in "${packages[@]}"; do
  zip="target/lambda/$name/bootstrap.zip"
  [[ -f "$zip" ]] || { echo "missing $zip" >&2; exit 1; }
  printf '%-10s %8s KiB  %s\n' "$name" "$(( $(stat -c %s "$zip") / 1024 ))" "$zip"
done
