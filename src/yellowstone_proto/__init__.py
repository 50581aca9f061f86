"""Yellowstone gRPC (Geyser) protocol: the .proto files and the modules protoc made from them.

`geyser_pb2` / `solana_storage_pb2` hold the messages and need protobuf only; `geyser_pb2_grpc`
holds the service stubs and imports grpc. Importing this package imports neither, so code that
only decodes messages never pulls grpc in. See README.md here for where the protos come from.
"""
