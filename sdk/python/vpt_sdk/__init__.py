"""Python side of vpt: the shared online record codec (see docs/online-record-codec.md)."""

from .codec import (
    CODEC_VERSION,
    DecodeError,
    Value,
    decode_entity_key,
    decode_value,
    encode_entity_key,
    encode_value,
)

__all__ = [
    "CODEC_VERSION",
    "DecodeError",
    "Value",
    "decode_entity_key",
    "decode_value",
    "encode_entity_key",
    "encode_value",
]
