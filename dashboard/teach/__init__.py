"""The teach service's JSON API under ``/api/``, served by ``socksort dashboard``.

By concern: ``routes`` (every endpoint), ``web`` (request, response, upload limits),
``multipart`` (form bodies), ``jobs`` (``socksort train`` subprocesses and their events),
``autotrain`` (``--auto-train``), ``classify`` (ONNX Runtime on a stored model),
``capture`` (a frame from the edge), ``fetch`` (bounded HTTP GETs), ``state`` (the zip
export and import), ``models`` (how a stored model is shown), ``auth`` (token and bind).
"""
