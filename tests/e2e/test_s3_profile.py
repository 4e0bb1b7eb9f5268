"""The hub with its LFS objects in an S3-compatible store (moto's server on loopback).

Uploads pass through the hub, which hashes them on the way into the bucket; downloads are
presigned URLs on the store's own origin (git-lfs batch hrefs, and a 302 on /resolve that
carries the metadata headers huggingface_hub reads).
"""

from __future__ import annotations

import hashlib
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
import requests
from huggingface_hub import hf_hub_download

from tests.e2e.conftest import HubServer, free_port, start_server, stop_server

pytestmark = [pytest.mark.e2e, pytest.mark.lfs]


@pytest.fixture(scope="module")
def s3_hub() -> Iterator[HubServer]:
    from moto.server import ThreadedMotoServer

    port = free_port()
    moto = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    moto.start()
    endpoint = f"http://127.0.0.1:{port}"
    boto3.client(
        "s3",
        endpoint_url=endpoint,
        aws_access_key_id="k",
        aws_secret_access_key="s",
        region_name="us-east-1",
    ).create_bucket(Bucket="hub-lfs")
    server, db_name = start_server(
        {
            "HUB_S3_ENDPOINT": endpoint,
            "HUB_S3_BUCKET": "hub-lfs",
            "HUB_S3_ACCESS_KEY": "k",
            "HUB_S3_SECRET_KEY": "s",
        }
    )
    try:
        yield server
    finally:
        stop_server(server, db_name)
        moto.stop()


def _bucket(server: HubServer):  # type: ignore[no-untyped-def]
    return boto3.client(
        "s3",
        endpoint_url=server.env["HUB_S3_ENDPOINT"],
        aws_access_key_id="k",
        aws_secret_access_key="s",
        region_name="us-east-1",
    )


def _git(cwd: Path, env: dict[str, str], *args: str) -> None:
    proc = subprocess.run(["git", *args], cwd=cwd, env=env, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


def test_lfs_round_trip_through_s3(
    s3_hub: HubServer, git_env: dict[str, str], tmp_path: Path
) -> None:
    from tests.conftest import require_tool

    require_tool("git-lfs")
    health = requests.get(f"{s3_hub.url}/api/health", timeout=10).json()
    assert health["storage"]["status"] == "ok"
    assert health["storage"]["lfs"] == "s3://hub-lfs"
    _user, token = s3_hub.create_user()
    repo_id = s3_hub.create_repo(token)
    url = s3_hub.url.replace("http://", f"http://x:{token}@") + f"/{repo_id}"
    work = tmp_path / "w"
    _git(tmp_path, git_env, "clone", url, str(work))
    _git(work, git_env, "lfs", "install", "--local")
    data = os.urandom(3 * 1024 * 1024 + 11)
    (work / "weights.bin").write_bytes(data)
    _git(work, git_env, "add", ".")
    _git(work, git_env, "commit", "-qm", "weights")
    _git(work, git_env, "push", "-q")
    again = tmp_path / "again"
    _git(
        tmp_path,
        git_env,
        "-c",
        "filter.lfs.smudge=git-lfs smudge -- %f",
        "-c",
        "filter.lfs.process=git-lfs filter-process",
        "-c",
        "filter.lfs.required=true",
        "clone",
        url,
        str(again),
    )
    assert (
        hashlib.sha256((again / "weights.bin").read_bytes()).hexdigest()
        == hashlib.sha256(data).hexdigest()
    )

    oid = hashlib.sha256(data).hexdigest()
    keys = {o["Key"] for o in _bucket(s3_hub).list_objects_v2(Bucket="hub-lfs")["Contents"]}
    assert f"lfs/{oid}" in keys  # in the bucket, not on the hub's disk
    assert not list((s3_hub.data_dir / "lfs").rglob(oid))

    resolve = f"{s3_hub.url}/{repo_id}/resolve/main/weights.bin"
    head = requests.head(
        resolve, headers={"Authorization": f"Bearer {token}"}, timeout=10, allow_redirects=False
    )
    assert head.status_code == 302, str(dict(head.headers))
    assert head.headers["X-Linked-Size"] == str(len(data))
    assert head.headers["X-Linked-Etag"] == f'"{hashlib.sha256(data).hexdigest()}"'
    assert head.headers["Location"].startswith("http://127.0.0.1:")
    path = hf_hub_download(
        repo_id, "weights.bin", endpoint=s3_hub.url, token=token, cache_dir=tmp_path / "cache"
    )
    assert Path(path).read_bytes() == data
