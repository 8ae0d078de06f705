"""The paper-clip: files sent as base64 in JSON, checked by their content (not their name)
with :mod:`shared.uploads`; count and size are limited by settings."""
from __future__ import annotations

from typing import Any, Mapping

from shared.errors import ValidationFailed
from shared.uploads import Upload, read_upload


def read_uploads(items: object, max_count: int, max_bytes: int) -> list[Upload]:
    """``[{"filename", "content_base64"}, ...]`` → checked files, or a 422 naming the file."""
    if items is None:
        return []
    if not isinstance(items, list):
        raise ValidationFailed("Неверный список файлов", {"attachments": "a list of files"})
    if len(items) > max_count:
        raise ValidationFailed(f"Можно прикрепить не больше {max_count} файлов",
                               {"attachments": f"at most {max_count} files"})
    uploads = []
    for index, item in enumerate(items):
        field = f"attachments[{index}]"
        if not isinstance(item, Mapping):
            raise ValidationFailed("Неверный файл", {field: "an object with filename and "
                                                            "content_base64"})
        name = item.get("filename")
        uploads.append(read_upload(item.get("content_base64"), name, field, max_bytes,
                                   data_field=f"{field}.content_base64",
                                   shown=name if isinstance(name, str) and name
                                   else f"№{index + 1}"))
    return uploads


def attachment_view(attachment: Any) -> dict[str, Any]:
    return {"id": attachment.id, "filename": attachment.filename,
            "content_type": attachment.content_type, "size": attachment.size}
