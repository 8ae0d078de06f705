"""Where the bytes of files live: a tiny interface, local disk by default, an S3-compatible
store by configuration.

A service's database keeps each file's name, type, size and key; the store keeps the bytes
under the key. Keys are ours (hex: a random 32-character one from :meth:`FileStore.put`, or
a 64-character content hash the caller chooses), so a key from anywhere else is refused as
missing. Each service has its own folder (``<SERVICE>_FILES_DIR``, or
``$VAR_DIR/<service>-files``) or, on S3, its own key prefix ``<service>/`` in the one bucket.

``FILE_STORAGE=s3`` with ``S3_BUCKET`` (and ``S3_ENDPOINT_URL`` for a store that is not AWS:
MinIO, Yandex Object Storage, VK Cloud...) selects :class:`S3Store`; the bucket must exist.
"""
from __future__ import annotations

import os
import re
import uuid
from pathlib import Path
from typing import Any, Mapping, Protocol

from nameko.extensions import DependencyProvider

_KEY = re.compile(r"^[0-9a-f]{32}(?:[0-9a-f]{32})?$")


def _checked(key: str) -> str:
    if not isinstance(key, str) or not _KEY.match(key):  # a bug or an attack: never a path
        raise FileNotFoundError(key)
    return key


class FileStore(Protocol):
    def put(self, data: bytes, key: str | None = None) -> str:
        """Store ``data`` under ``key`` (a new random one if None); return the key."""

    def get(self, key: str) -> bytes:
        """The bytes under ``key``; FileNotFoundError if there are none."""

    def delete(self, key: str) -> None:
        """Remove the bytes under ``key`` (nothing if already gone)."""


class LocalDiskStore:
    """Files under ``root``, two hex characters of fan-out so no folder grows huge."""

    def __init__(self, root: Path | str) -> None:
        self.root = Path(root)

    def _path(self, key: str) -> Path:
        return self.root / _checked(key)[:2] / key

    def put(self, data: bytes, key: str | None = None) -> str:
        key = uuid.uuid4().hex if key is None else key
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f"{key}.{uuid.uuid4().hex}.tmp")  # two writers never share one
        tmp.write_bytes(data)
        os.replace(tmp, path)  # a reader never sees half a file
        return key

    def get(self, key: str) -> bytes:
        return self._path(key).read_bytes()

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)


class S3Store:
    """Files as objects ``<prefix><key>`` of one bucket, through boto3 (one client, which
    boto3 allows to be shared by threads; under eventlet its sockets are cooperative)."""

    def __init__(self, bucket: str, prefix: str, client: Any) -> None:
        self.bucket = bucket
        self.prefix = prefix
        self.client = client

    @classmethod
    def from_config(cls, config: Mapping[str, Any], prefix: str) -> "S3Store":
        import boto3  # only a deployment with FILE_STORAGE=s3 needs it loaded
        from botocore.config import Config as BotoConfig

        client = boto3.client(
            "s3", endpoint_url=config.get("S3_ENDPOINT_URL") or None,
            region_name=config.get("S3_REGION") or None,
            aws_access_key_id=config.get("S3_ACCESS_KEY") or None,
            aws_secret_access_key=config.get("S3_SECRET_KEY") or None,
            # Path-style addressing works with every S3-compatible store, not only AWS.
            config=BotoConfig(s3={"addressing_style": "path"}, retries={"mode": "standard"}))
        return cls(config["S3_BUCKET"], prefix, client)

    def _name(self, key: str) -> str:
        return self.prefix + _checked(key)

    def put(self, data: bytes, key: str | None = None) -> str:
        key = uuid.uuid4().hex if key is None else key
        self.client.put_object(Bucket=self.bucket, Key=self._name(key), Body=data)
        return key

    def get(self, key: str) -> bytes:
        try:
            answer = self.client.get_object(Bucket=self.bucket, Key=self._name(key))
        except self.client.exceptions.NoSuchKey:
            raise FileNotFoundError(key) from None
        return answer["Body"].read()

    def delete(self, key: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=self._name(key))  # absent: no error


def make_store(config: Mapping[str, Any], service: str) -> FileStore:
    """The store ``FILE_STORAGE`` names, for ``service``'s files."""
    kind = config.get("FILE_STORAGE") or "local"
    if kind == "s3":
        if not config.get("S3_BUCKET"):
            raise ValueError("FILE_STORAGE=s3 needs S3_BUCKET")
        return S3Store.from_config(config, f"{service}/")
    if kind != "local":
        raise ValueError(f"FILE_STORAGE must be local or s3, not {kind!r}")
    folder = config.get(f"{service.upper()}_FILES_DIR")
    root = folder or Path(config["VAR_DIR"]) / f"{service}-files"
    return LocalDiskStore(root)


class StoreProvider(DependencyProvider):
    """The service's file store (see :func:`make_store`), made once per container."""

    def __init__(self, service: str) -> None:
        self.service = service

    def setup(self) -> None:
        self.store = make_store(self.container.config, self.service)

    def get_dependency(self, worker_ctx: Any) -> FileStore:
        return self.store
