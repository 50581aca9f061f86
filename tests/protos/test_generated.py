"""The committed yellowstone_proto modules are what scripts/gen-yellowstone-proto.sh makes, and the
message modules import no grpc."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import yellowstone_proto

PACKAGE = Path(yellowstone_proto.__file__).parent
SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "gen-yellowstone-proto.sh"
GENERATED = (
    "geyser_pb2.py",
    "geyser_pb2.pyi",
    "geyser_pb2_grpc.py",
    "geyser_pb2_grpc.pyi",
    "solana_storage_pb2.py",
    "solana_storage_pb2.pyi",
)


def test_regenerating_gives_the_committed_files(tmp_path: Path) -> None:
    subprocess.run(
        ["bash", str(SCRIPT), str(tmp_path)],
        check=True,
        capture_output=True,
        env={"PYTHON": sys.executable, "PATH": "/usr/bin:/bin"},
    )
    made = sorted(p.name for p in tmp_path.iterdir())
    assert made == sorted(GENERATED)
    for name in GENERATED:
        assert (tmp_path / name).read_bytes() == (PACKAGE / name).read_bytes(), (
            f"{name} differs from a regeneration: run scripts/gen-yellowstone-proto.sh"
        )


def test_messages_import_without_grpc() -> None:
    code = (
        "import sys, yellowstone_proto, yellowstone_proto.geyser_pb2 as g\n"
        "r = g.SubscribeRequest(from_slot=5)\n"
        "assert g.SubscribeRequest.FromString(r.SerializeToString()).from_slot == 5\n"
        "assert g.SubscribeUpdateTransactionInfo().meta.fee == 0\n"
        "print(sorted(m for m in sys.modules if m == 'grpc' or m.startswith('grpc.')))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], check=True, capture_output=True, text=True
    ).stdout
    assert out.strip() == "[]"


def test_grpc_stubs_import_relative_to_the_package() -> None:
    from yellowstone_proto import geyser_pb2, geyser_pb2_grpc

    assert geyser_pb2_grpc.geyser__pb2 is geyser_pb2
    assert geyser_pb2.DESCRIPTOR.services_by_name["Geyser"].methods_by_name["Subscribe"]
