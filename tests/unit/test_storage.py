"""The file store behind every service's files: local disk, and an S3-compatible store
reached through the real boto3 client (moto's S3 server on 127.0.0.1 stands in for it)."""
from __future__ import annotations

import hashlib
from typing import Iterator

import boto3
import pytest
from moto.server import ThreadedMotoServer

from shared.storage import LocalDiskStore, S3Store, make_store

BUCKET = "nesk-files"
CREDENTIALS = {"S3_ACCESS_KEY": "test-key", "S3_SECRET_KEY": "test-secret",
               "S3_REGION": "ru-central1"}


@pytest.fixture(scope="module")
def s3_url() -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    url = f"http://{host}:{port}"
    boto3.client("s3", endpoint_url=url, region_name="us-east-1",
                 aws_access_key_id="test-key",
                 aws_secret_access_key="test-secret").create_bucket(Bucket=BUCKET)
    yield url
    server.stop()


def s3_config(url: str, tmp_path) -> dict[str, str]:
    return {"FILE_STORAGE": "s3", "S3_ENDPOINT_URL": url, "S3_BUCKET": BUCKET,
            "VAR_DIR": str(tmp_path), **CREDENTIALS}


@pytest.fixture(params=["local", "s3"])
def store(request, tmp_path):
    if request.param == "local":
        return make_store({"VAR_DIR": str(tmp_path)}, "documents")
    return make_store(s3_config(request.getfixturevalue("s3_url"), tmp_path), "documents")


def test_a_file_comes_back_as_it_was_put_and_is_gone_after_delete(store):
    data = b"%PDF-1.7 " + bytes(range(256)) * 100
    key = store.put(data)
    assert len(key) == 32 and store.get(key) == data
    assert store.put(data) != key  # every put is a new file
    store.delete(key)
    with pytest.raises(FileNotFoundError):
        store.get(key)
    store.delete(key)  # twice is fine


def test_a_file_may_be_stored_under_its_content_hash(store):
    data = b"the same bill"
    key = hashlib.sha256(data).hexdigest()
    assert store.put(data, key) == key
    assert store.put(data, key) == key  # again: the same file, replaced
    assert store.get(key) == data


@pytest.mark.parametrize("key", ["../../etc/passwd", "ABCDEF" * 6, "0" * 31, "", "a/b" * 11])
def test_keys_that_are_not_ours_are_missing_files(store, key):
    with pytest.raises(FileNotFoundError):
        store.get(key)
    with pytest.raises(FileNotFoundError):
        store.put(b"x", key)


def test_local_files_are_in_the_service_s_folder(tmp_path):
    store = make_store({"VAR_DIR": str(tmp_path)}, "documents")
    assert isinstance(store, LocalDiskStore)
    key = store.put(b"scan")
    assert (tmp_path / "documents-files" / key[:2] / key).read_bytes() == b"scan"
    elsewhere = make_store({"VAR_DIR": str(tmp_path),
                            "REQUESTS_FILES_DIR": str(tmp_path / "x")}, "requests")
    assert elsewhere.root == tmp_path / "x"


def test_on_s3_each_service_has_its_own_prefix(s3_url, tmp_path):
    documents = make_store(s3_config(s3_url, tmp_path), "documents")
    requests = make_store(s3_config(s3_url, tmp_path), "requests")
    assert isinstance(documents, S3Store)
    key = documents.put(b"passport scan")
    names = [o["Key"] for o in documents.client.list_objects_v2(Bucket=BUCKET)["Contents"]]
    assert f"documents/{key}" in names
    with pytest.raises(FileNotFoundError):
        requests.get(key)


def test_a_wrong_setting_is_a_clear_error(tmp_path):
    with pytest.raises(ValueError, match="S3_BUCKET"):
        make_store({"FILE_STORAGE": "s3", "VAR_DIR": str(tmp_path)}, "documents")
    with pytest.raises(ValueError, match="local or s3"):
        make_store({"FILE_STORAGE": "ftp", "VAR_DIR": str(tmp_path)}, "documents")
