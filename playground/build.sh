#!/usr/bin/env bash
# Builds the playground's engine: portcullis-wasm for wasm32-unknown-unknown
# (profile `wasm`: opt-level "s"), bound with wasm-bindgen into
# playground/pkg/ (git-ignored). Then serve playground/ with any static
# server, e.g. `python3 -m http.server -d playground 8000`.
#
# Needs the wasm32-unknown-unknown target and wasm-bindgen-cli of the exact
# version of the wasm-bindgen crate (.ci/run installs both when missing).
set -euo pipefail
cd "$(dirname "$0")/.."
target_dir="${CARGO_TARGET_DIR:-target}"

want=$(sed -n 's/^wasm-bindgen = "=\(.*\)"$/\1/p' wasm/Cargo.toml)
have=$(wasm-bindgen --version 2>/dev/null | awk '{print $2}')
if [ "$have" != "$want" ]; then
  echo "playground/build.sh: wasm-bindgen-cli $want is needed (found: ${have:-none});" >&2
  echo "  cargo install wasm-bindgen-cli --version $want --locked" >&2
  exit 3
fi

cargo build -p portcullis-wasm --target wasm32-unknown-unknown --profile wasm
wasm-bindgen --target web --no-typescript --out-dir playground/pkg \
  "$target_dir/wasm32-unknown-unknown/wasm/portcullis_wasm.wasm"
ls -l playground/pkg/portcullis_wasm_bg.wasm
