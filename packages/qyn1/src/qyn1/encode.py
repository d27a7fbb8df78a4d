"""Structural encoder (placeholder until the token model lands)."""


def encode_text(data: bytes):
    return None


def decode_text(body: bytes) -> bytes:
    raise NotImplementedError


def train_tables(datas) -> dict:
    return {}
