"""The native API's wire pieces: MessagePack as a standard decoder reads it, and the
bearer token (derived from the key pair, checked in constant time, never echoed)."""

from __future__ import annotations

import msgspec
import pytest

from s3_asyncio_client.protocol.signing import Credentials
from s3_asyncio_client.server.ais.wire import AisFault, aistore_token, check_token, msgpack
from s3_asyncio_client.server.keys import Keyring

VALUES = [
    None,
    True,
    False,
    0,
    127,
    128,
    2**32,
    2**64 - 1,
    -1,
    -(2**63),
    "",
    "a" * 31,
    "é" * 16,
    "b" * 255,
    "c" * 256,
    "d" * 70_000,
    [],
    list(range(15)),
    list(range(16)),
    list(range(70_000)),
    {},
    {f"k{i}": i for i in range(15)},
    {f"k{i}": [i, {"n": str(i)}] for i in range(16)},
    {"UUID": "", "ContinuationToken": "", "Flags": 0, "Entries": [{"n": "x", "s": 25000}]},
]


@pytest.mark.parametrize("value", VALUES, ids=range(len(VALUES)))
def test_msgpack_decodes_to_the_same_value(value: object) -> None:
    assert msgspec.msgpack.decode(msgpack(value)) == value


KEYS = Keyring([Credentials("AK1", "secret-one"), Credentials("AK2", "secret-two")])


def test_token_names_its_access_key_and_hides_the_secret() -> None:
    token = aistore_token("AK2", "secret-two")
    assert token.startswith("AK2.")
    assert "secret-two" not in token
    assert check_token(KEYS, f"Bearer {token}") == "AK2"
    assert check_token(None, None) is None  # auth off


@pytest.mark.parametrize(
    "authorization",
    [
        None,
        "",
        "Bearer",
        "Basic QUsxOnNlY3JldC1vbmU=",
        f"Bearer {aistore_token('AK1', 'secret-two')}",
        f"Bearer {aistore_token('NOPE', 'secret-one')}",
        f"Token {aistore_token('AK1', 'secret-one')}",
        "Bearer secret-one",
    ],
)
def test_bad_tokens_are_401_without_echo(authorization: str | None) -> None:
    with pytest.raises(AisFault) as caught:
        check_token(KEYS, authorization)
    assert caught.value.status == 401
    assert "secret" not in caught.value.message
    sent = (authorization or "").partition(" ")[2]
    assert not sent or sent not in caught.value.message
