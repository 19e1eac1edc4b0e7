"""``python -m s3_asyncio_client.server``: serve a folder as S3 until interrupted."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m s3_asyncio_client.server",
        description="A local S3 endpoint storing its data under --root.",
    )
    parser.add_argument("--root", required=True, help="folder for the data (created if needed)")
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (127.0.0.1)")
    parser.add_argument("--port", type=int, default=8080, help="port (8080; 0 picks one)")
    parser.add_argument("--access-key", help="access key (random if not given)")
    parser.add_argument("--secret-key", help="secret key (random if not given)")
    parser.add_argument(
        "--credentials-file", help="AWS-style credentials file: every profile is a user"
    )
    parser.add_argument("--region", default="us-east-1")
    parser.add_argument("--no-auth", action="store_true", help="accept anonymous requests")
    parser.add_argument(
        "--strict", action="store_true", help="enforce AWS's part limits; refuse SigV2"
    )
    parser.add_argument(
        "--domain",
        default="localhost",
        help="Host <bucket>.<domain> addresses the bucket (localhost)",
    )
    parser.add_argument(
        "--no-fsync", action="store_true", help="skip fsync (throwaway data: faster writes)"
    )
    parser.add_argument(
        "--max-connections", type=int, help="open connections at most (from ulimit -n)"
    )
    parser.add_argument(
        "--header-timeout", type=float, default=30.0, help="seconds to send a request head"
    )
    parser.add_argument(
        "--idle-timeout", type=float, default=60.0, help="seconds a keep-alive may idle"
    )
    parser.add_argument("--read-timeout", type=float, default=60.0, help="seconds a body may stall")
    args = parser.parse_args(argv)
    from .connections import ConnectionLimits  # after --help: it needs no aiohttp
    from .keys import load_credentials_file
    from .runner import serve

    if (args.access_key is None) != (args.secret_key is None):
        parser.error("--access-key and --secret-key go together")
    try:
        limits = ConnectionLimits(
            max_connections=args.max_connections,
            header_timeout=args.header_timeout,
            idle_timeout=args.idle_timeout,
            read_timeout=args.read_timeout,
        )
    except ValueError as exc:
        parser.error(str(exc))
    credentials = None
    if args.credentials_file:
        try:
            credentials = load_credentials_file(args.credentials_file)
        except (OSError, ValueError) as exc:
            parser.error(str(exc))
    try:
        serve(
            args.root,
            args.host,
            args.port,
            access_key=args.access_key,
            secret_key=args.secret_key,
            credentials=credentials,
            auth=not args.no_auth,
            strict=args.strict,
            region=args.region,
            durable=not args.no_fsync,
            limits=limits,
            domain=args.domain,
        )
    except (OSError, RuntimeError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
