"""The synchronous facade: the fluent ``Client`` (``fluent``) and its readers and
writers (``streams``), run on one background event loop (``portal``, ``handoff``,
``loops``) that runs the async ``S3Client``."""
