"""``python -m s3_asyncio_client.cli``: the same as ``s3aio``."""

from . import main

main()
