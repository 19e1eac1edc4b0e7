"""The protocol layer's neutral errors, and their one mapping at each edge: the client's
S3Errors (same message, same fields) and the server's S3 error replies."""

from __future__ import annotations

import pickle
from collections.abc import AsyncIterator

import pytest

from s3_asyncio_client import S3Client
from s3_asyncio_client.client import check_bucket, check_key, check_part_number
from s3_asyncio_client.exceptions import (
    S3Error,
    S3IntegrityError,
    S3InvalidRequestError,
    S3LengthError,
    S3ServerError,
)
from s3_asyncio_client.protocol.documents import parse_xml
from s3_asyncio_client.protocol.errors import (
    LocalProtocolError,
    ProtocolError,
    RemoteLengthError,
    RemoteProtocolError,
)
from s3_asyncio_client.protocol.limits import check_bucket as neutral_check_bucket
from s3_asyncio_client.server.errors import protocol_fault
from s3_asyncio_client.transport.errors import (
    map_exception,
    maps_protocol_errors,
    protocol_edge,
    protocol_errors,
    s3_error,
)

WHERE = {"bucket": "b", "key": "k"}


def test_the_tree_is_split_by_whose_fault_it_is() -> None:
    assert issubclass(ProtocolError, ValueError)
    assert issubclass(LocalProtocolError, ProtocolError)
    assert issubclass(RemoteProtocolError, ProtocolError)
    assert issubclass(RemoteLengthError, RemoteProtocolError)
    assert not issubclass(ProtocolError, S3Error)


def test_a_protocol_error_carries_and_pickles_its_fields() -> None:
    error = RemoteLengthError("malformed reply: x", value="12a", code="C", **WHERE)
    again = pickle.loads(pickle.dumps(error))
    assert type(again) is RemoteLengthError
    assert (again.message, again.value, again.code, again.bucket, again.key) == (
        "malformed reply: x",
        "12a",
        "C",
        "b",
        "k",
    )
    assert str(again) == "malformed reply: x"


@pytest.mark.parametrize(
    ("neutral", "mapped"),
    [
        (LocalProtocolError, S3InvalidRequestError),
        (RemoteProtocolError, S3ServerError),
        (RemoteLengthError, S3LengthError),
    ],
)
def test_the_client_maps_each_kind_to_its_s3_error(
    neutral: type[ProtocolError], mapped: type[S3Error]
) -> None:
    error = s3_error(neutral("the message", value="v", code="InvalidArgument", **WHERE))
    assert type(error) is mapped
    assert (error.message, error.bucket, error.key) == ("the message", "b", "k")
    # The code is a hint for the server: the client's local errors never carried one.
    assert (error.error_code, error.status_code) == (None, None)
    assert map_exception(neutral("the message")).__class__ is mapped


def test_a_length_error_keeps_the_value_the_server_sent() -> None:
    error = s3_error(RemoteLengthError("bad", value="-1", **WHERE))
    assert isinstance(error, S3LengthError)
    assert isinstance(error, S3IntegrityError)
    assert error.value == "-1"


def test_protocol_errors_maps_the_block_and_lets_others_through() -> None:
    with (
        pytest.raises(S3InvalidRequestError, match="invalid bucket name 'a b'") as caught,
        protocol_errors(),
    ):
        neutral_check_bucket("a b")
    assert caught.value.bucket == "a b"
    assert caught.value.__suppress_context__  # the neutral error adds nothing to show
    with pytest.raises(KeyError), protocol_errors():
        raise KeyError("not ours")


async def test_maps_protocol_errors_wraps_plain_coroutine_and_generator_functions() -> None:
    def plain(bucket: str) -> str:
        return neutral_check_bucket(bucket)

    async def coroutine(bucket: str) -> str:
        return neutral_check_bucket(bucket)

    async def generator(bucket: str) -> AsyncIterator[str]:
        yield "first"
        yield neutral_check_bucket(bucket)

    assert maps_protocol_errors(plain)("ok") == "ok"
    assert await maps_protocol_errors(coroutine)("ok") == "ok"
    with pytest.raises(S3InvalidRequestError, match="'a/b'"):
        maps_protocol_errors(plain)("a/b")
    with pytest.raises(S3InvalidRequestError, match="'a/b'"):
        await maps_protocol_errors(coroutine)("a/b")
    items = maps_protocol_errors(generator)("a/b")
    assert await anext(items) == "first"
    with pytest.raises(S3InvalidRequestError, match="'a/b'"):
        await anext(items)


def test_protocol_edge_maps_init_and_public_methods_only() -> None:
    @protocol_edge
    class Edge:
        def __init__(self, bucket: str) -> None:
            neutral_check_bucket(bucket)

        def public(self, bucket: str) -> str:
            return neutral_check_bucket(bucket)

        def _private(self, bucket: str) -> str:
            return neutral_check_bucket(bucket)

    with pytest.raises(S3InvalidRequestError):
        Edge("")
    edge = Edge("ok")
    with pytest.raises(S3InvalidRequestError):
        edge.public("")
    with pytest.raises(LocalProtocolError):
        edge._private("")


def test_the_client_raises_todays_classes_and_messages() -> None:
    with pytest.raises(S3InvalidRequestError, match=r"endpoint_url must be http\(s\)://"):
        S3Client(endpoint_url="ftp://host", access_key="a", secret_key="s")
    client = S3Client(endpoint_url="http://127.0.0.1:9", access_key="a", secret_key="s")
    with pytest.raises(S3InvalidRequestError, match="invalid bucket name 'a b'") as caught:
        client.generate_presigned_url("GET", "a b", "k")
    assert caught.value.bucket == "a b"
    with pytest.raises(S3InvalidRequestError, match="expires_in must be an int"):
        client.generate_presigned_url("GET", "b", "k", expires_in=0)


def test_the_public_checks_raise_s3_errors() -> None:
    assert (check_bucket("b"), check_key("k", "b"), check_part_number(3)) == ("b", "k", 3)
    for call in (lambda: check_bucket(""), lambda: check_key(""), lambda: check_part_number(0)):
        with pytest.raises(S3InvalidRequestError):
            call()


def test_the_server_answers_s3s_code_and_wording() -> None:
    with pytest.raises(RemoteProtocolError) as caught:
        parse_xml(b"<Delete><Object>", strict=True)
    fault = protocol_fault(caught.value)
    assert (fault.code, fault.status) == ("MalformedXML", 400)
    assert fault.message.startswith("The XML you provided was not well-formed")
    unnamed = protocol_fault(LocalProtocolError("part number must be an int"))
    assert (unnamed.code, unnamed.status, unnamed.message) == (
        "InvalidRequest",
        400,
        "part number must be an int",
    )
