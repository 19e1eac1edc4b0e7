"""The transfer engine: how large objects move, through the operations of ``ports``.

The engine takes any object that satisfies ``ports.ObjectStore`` (``S3Client`` does)
and imports nothing of the client. Uploads (``upload``) and downloads (``download``)
of any size, parts in parallel (``fanout``: one bounded fan-out, task groups that
complete or abort); server-side copies of any size (``copy``); resumable uploads
(``resume``, over the on-disk ``journal``); a download's temporary file
(``partfile``), or an in-order stream into a file object (``stream``), both over
``remote`` (the pinned object, its ranges, its checksum settled); checking that
what is stored is what was sent (``integrity``); whether a file holds an object's
bytes, by checksum, without a download (``compare``); and the malloc setting
downloads ask for (``allocator``).
"""
