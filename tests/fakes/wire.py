"""Reading Bot API requests the way Telegram does: query, form, multipart or JSON."""

from __future__ import annotations

from typing import Any

from aiohttp import BodyPartReader, web

from tests.fakes.spec import UploadedFile


async def read_params(request: web.Request) -> tuple[dict[str, Any], dict[str, UploadedFile]]:
    """Return the call's parameters and its uploaded file parts (by part name)."""
    raw: dict[str, Any] = dict(request.query)
    files: dict[str, UploadedFile] = {}
    if not request.can_read_body:
        return raw, files
    content_type = request.content_type
    if content_type == "application/json":
        try:
            body = await request.json()
        except ValueError:
            raise ValueError("can't parse JSON request body") from None
        if not isinstance(body, dict):
            raise ValueError("JSON request body must be an object")
        raw.update(body)
    elif content_type == "multipart/form-data":
        reader = await request.multipart()
        while (part := await reader.next()) is not None:
            if not isinstance(part, BodyPartReader) or part.name is None:
                continue
            if part.filename is not None:
                data = bytes(await part.read())
                ctype = part.headers.get("Content-Type", "application/octet-stream")
                files[part.name] = UploadedFile(part.name, part.filename, ctype, data)
            else:
                raw[part.name] = await part.text()
        # A part named like a parameter is that parameter; others are attach:// targets.
        for name, upload in files.items():
            raw.setdefault(name, upload)
    else:
        form = await request.post()
        raw.update({k: v for k, v in form.items() if isinstance(v, str)})
    return raw, files
