"""Files the bot uploads (photos, documents): their bytes, ids and the Bot API objects describing them."""

from __future__ import annotations

import io
import secrets
from dataclasses import dataclass
from typing import Any

from PIL import Image, UnidentifiedImageError

from sandbox.telegram import errors
from sandbox.telegram.errors import ApiError
from sandbox.telegram.params import Upload


@dataclass(frozen=True)
class StoredFile:
    """An uploaded file, kept in memory; `url` marks one sent by URL (never downloaded: we stay offline)."""

    file_id: str
    file_unique_id: str
    file_path: str
    filename: str
    content_type: str
    data: bytes
    width: int | None = None
    height: int | None = None
    url: str | None = None

    def photo_sizes(self) -> list[dict[str, Any]]:
        """The Bot API `PhotoSize` array of this photo (one size: the original)."""
        return [
            {
                "file_id": self.file_id,
                "file_unique_id": self.file_unique_id,
                "width": self.width or 0,
                "height": self.height or 0,
                "file_size": len(self.data),
            }
        ]

    def document(self) -> dict[str, Any]:
        """The Bot API `Document` object of this file."""
        return {
            "file_id": self.file_id,
            "file_unique_id": self.file_unique_id,
            "file_name": self.filename,
            "mime_type": self.content_type,
            "file_size": len(self.data),
        }

    def file_api(self) -> dict[str, Any]:
        """The Bot API `File` object (getFile)."""
        return {
            "file_id": self.file_id,
            "file_unique_id": self.file_unique_id,
            "file_size": len(self.data),
            "file_path": self.file_path,
        }


class FileStore:
    """Uploaded files by id and by path."""

    def __init__(self) -> None:
        self._by_id: dict[str, StoredFile] = {}
        self._by_path: dict[str, StoredFile] = {}
        self._counter = 0

    def get(self, file_id: str) -> StoredFile | None:
        """The file with this id, if any."""
        return self._by_id.get(file_id)

    def by_path(self, file_path: str) -> StoredFile | None:
        """The file served at this `file_path` (the getFile download path)."""
        return self._by_path.get(file_path)

    def resolve(self, kind: str, upload: Upload | None, reference: str | None) -> StoredFile:
        """The file a send method refers to: a new upload, an earlier file id or a URL."""
        if upload is not None:
            return self.put(kind, upload)
        if reference is not None and reference.startswith("attach://"):
            raise ApiError(errors.WRONG_FILE_ID)
        if reference is not None and reference.startswith(("http://", "https://")):
            return self._store(kind, Upload(reference.rsplit("/", 1)[-1] or "file", "", b""), url=reference)
        stored_file = self._by_id.get(reference or "")
        if stored_file is None:
            raise ApiError(errors.WRONG_FILE_ID)
        return stored_file

    def put(self, kind: str, upload: Upload) -> StoredFile:
        """Store an uploaded file; a photo must be an image Pillow can read, as Telegram requires."""
        if kind != "photo":
            return self._store(kind, upload)
        try:
            with Image.open(io.BytesIO(upload.data)) as image:
                width, height = image.size
                image.verify()
        except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
            raise ApiError(errors.IMAGE_PROCESS_FAILED) from None
        content_type = upload.content_type if upload.content_type.startswith("image/") else "image/png"
        return self._store(kind, Upload(upload.filename, content_type, upload.data), width, height)

    def _store(
        self,
        kind: str,
        upload: Upload,
        width: int | None = None,
        height: int | None = None,
        url: str | None = None,
    ) -> StoredFile:
        self._counter += 1
        suffix = upload.filename.rsplit(".", 1)[-1] if "." in upload.filename else "bin"
        stored = StoredFile(
            file_id=f"sbx_{kind}_{self._counter}_{secrets.token_urlsafe(8)}",
            file_unique_id=f"u{self._counter}{secrets.token_hex(4)}",
            file_path=f"{kind}s/file_{self._counter}.{suffix}",
            filename=upload.filename,
            content_type=upload.content_type or "application/octet-stream",
            data=upload.data,
            width=width,
            height=height,
            url=url,
        )
        self._by_id[stored.file_id] = stored
        self._by_path[stored.file_path] = stored
        return stored
