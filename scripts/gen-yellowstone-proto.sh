#!/usr/bin/env bash
# Regenerate the Python modules of src/yellowstone_proto from its .proto files (taken unchanged
# from the npm package laserstream-core-proto-js 9.1.0, Yellowstone-compatible, MIT).
#   scripts/gen-yellowstone-proto.sh [OUT_DIR]   (default: src/yellowstone_proto)
# Needs grpcio-tools and mypy-protobuf (the dev extra). protoc writes top-level imports
# ("import solana_storage_pb2"); they are rewritten to package-relative ones so the modules work
# as the yellowstone_proto package. tests/protos/test_generated.py checks a regeneration is identical.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
proto_dir="$here/src/yellowstone_proto"
out=${1:-$proto_dir}
py=${PYTHON:-"$here/.venv/bin/python"}
mkdir -p "$out"
plugin_dir=$(dirname "$py")
"$py" -m grpc_tools.protoc -I "$proto_dir" \
  --plugin=protoc-gen-mypy="$plugin_dir/protoc-gen-mypy" \
  --plugin=protoc-gen-mypy_grpc="$plugin_dir/protoc-gen-mypy_grpc" \
  --python_out="$out" --grpc_python_out="$out" \
  --mypy_out="$out" --mypy_grpc_out="$out" \
  "$proto_dir/geyser.proto" "$proto_dir/solana-storage.proto"
rm -f "$out"/solana_storage_pb2_grpc.py "$out"/solana_storage_pb2_grpc.pyi  # no services there
for f in "$out"/geyser_pb2.py "$out"/geyser_pb2.pyi "$out"/geyser_pb2_grpc.py "$out"/geyser_pb2_grpc.pyi; do
  sed -i -E \
    -e 's/^import (solana_storage_pb2|geyser_pb2)( |$)/from . import \1\2/' \
    -e 's/^from (solana_storage_pb2|geyser_pb2) import /from .\1 import /' \
    "$f"
done
