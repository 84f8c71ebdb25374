"""Python side of vpt: the shared online record codec (docs/online-record-codec.md), and a
client for data scientists: training data with point-in-time correctness, online features."""

from .codec import (
    CODEC_VERSION,
    DecodeError,
    Value,
    decode_entity_key,
    decode_value,
    encode_entity_key,
    encode_value,
)

from .client import Client, ClientError, Workspace
from .retrieval import OfflineRetrieval, RetrievalError

__all__ = [
    "Client",
    "ClientError",
    "OfflineRetrieval",
    "RetrievalError",
    "Workspace",
    "CODEC_VERSION",
    "DecodeError",
    "Value",
    "decode_entity_key",
    "decode_value",
    "encode_entity_key",
    "encode_value",
]
