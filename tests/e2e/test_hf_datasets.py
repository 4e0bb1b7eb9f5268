"""`datasets.load_dataset` and `Dataset.push_to_hub`, unmodified, against a live hub.

Each client call runs in a fresh process with only `HF_ENDPOINT`, `HF_HUB_DISABLE_XET=1`
and (when the test says so) `HF_TOKEN` set, as the README tells users to do
(tests/e2e/hf_libraries.py). The data is made here: Parquet written by pyarrow, CSV and
JSON Lines, in the layouts the library infers splits from (`data/train-*.parquet`,
`train.csv`/`test.csv`) and a card whose `configs:` YAML names the data files.
"""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from tests.e2e.conftest import HubServer
from tests.e2e.hf_libraries import require_modules, run_client

pytestmark = pytest.mark.e2e

NOT_FOUND = "datasets.exceptions.DatasetNotFoundError"


@pytest.fixture(scope="module", autouse=True)
def _libraries() -> None:
    require_modules("datasets", "pyarrow")


@pytest.fixture(scope="module")
def owner(hub_server: HubServer) -> dict[str, str]:
    user, token = hub_server.create_user()
    return {"user": user, "token": token}


def _parquet(rows: dict[str, list], **kwargs: object) -> bytes:
    import pyarrow as pa
    import pyarrow.parquet as pq

    buf = io.BytesIO()
    pq.write_table(pa.table(rows), buf, **kwargs)
    return buf.getvalue()


def _upload(
    hub_server: HubServer,
    token: str,
    repo_id: str,
    files: dict[str, bytes | str],
    *,
    revision: str | None = None,
    message: str = "Add data",
) -> str:
    """One commit with `files` through huggingface_hub; returns its sha."""
    from huggingface_hub import CommitOperationAdd

    ops = [
        CommitOperationAdd(path, io.BytesIO(data.encode() if isinstance(data, str) else data))
        for path, data in files.items()
    ]
    info = hub_server.api(token).create_commit(
        repo_id, ops, commit_message=message, repo_type="dataset", revision=revision
    )
    return str(info.oid)


def _dataset(
    hub_server: HubServer,
    token: str,
    files: dict[str, bytes | str] | None = None,
    *,
    private: bool = False,
) -> str:
    """A new dataset repo, with `files` in its first commit when given."""
    repo_id = hub_server.create_repo(
        token, hub_server.unique("ds"), kind="dataset", private=private
    )
    if files:
        _upload(hub_server, token, repo_id, files)
    return repo_id


# --- Parquet in data/{split}-*.parquet ---------------------------------------------------------


@pytest.fixture(scope="module")
def parquet_repo(hub_server: HubServer, owner: dict[str, str]) -> str:
    repo_id = _dataset(
        hub_server,
        owner["token"],
        {
            "data/train-00000-of-00002.parquet": _parquet({"id": [1, 2], "text": ["a", "b"]}),
            "data/train-00001-of-00002.parquet": _parquet({"id": [3], "text": ["c"]}),
            "data/test-00000-of-00001.parquet": _parquet({"id": [4], "text": ["d"]}),
        },
    )
    return repo_id


def test_parquet_layout_streams_and_loads(hub_server: HubServer, parquet_repo: str) -> None:
    result = run_client(
        hub_server,
        f"""
        from datasets import load_dataset

        streamed = load_dataset({parquet_repo!r}, streaming=True)
        loaded = load_dataset({parquet_repo!r})
        result = {{
            "stream_type": type(streamed).__name__,
            "stream": {{split: list(ds) for split, ds in streamed.items()}},
            "loaded": {{split: ds.to_list() for split, ds in loaded.items()}},
            "num_rows": loaded.num_rows,
            "features": {{k: str(v) for k, v in loaded["train"].features.items()}},
            "test_only": load_dataset({parquet_repo!r}, split="test").to_list(),
        }}
        """,
    )
    train = [{"id": 1, "text": "a"}, {"id": 2, "text": "b"}, {"id": 3, "text": "c"}]
    test = [{"id": 4, "text": "d"}]
    assert result["stream_type"] == "IterableDatasetDict"
    assert result["stream"] == {"train": train, "test": test}
    assert result["loaded"] == {"train": train, "test": test}
    assert result["num_rows"] == {"train": 3, "test": 1}
    assert result["features"] == {"id": "Value('int64')", "text": "Value('string')"}
    assert result["test_only"] == test


def test_row_groups_are_read_by_range(hub_server: HubServer, owner: dict[str, str]) -> None:
    """A file of ten row groups: streaming skips into the middle, pyarrow reads the footer."""
    n = 50_000
    data = _parquet({"i": list(range(n)), "s": [f"row{i}" for i in range(n)]}, row_group_size=5000)
    repo_id = _dataset(hub_server, owner["token"], {"data/train-00000-of-00001.parquet": data})
    result = run_client(
        hub_server,
        f"""
        import pyarrow.parquet as pq
        from datasets import load_dataset
        from huggingface_hub import HfFileSystem

        ds = load_dataset({repo_id!r}, split="train", streaming=True)
        path = "datasets/{repo_id}/data/train-00000-of-00001.parquet"
        with HfFileSystem().open(path, "rb") as f:
            meta = pq.ParquetFile(f).metadata
        result = {{
            "middle": list(ds.skip(37_500).take(2)),
            "count": sum(1 for _ in ds),
            "row_groups": meta.num_row_groups,
            "rows": meta.num_rows,
            "glob": HfFileSystem().glob("datasets/{repo_id}/**/*.parquet"),
        }}
        """,
    )
    assert result["middle"] == [{"i": 37_500, "s": "row37500"}, {"i": 37_501, "s": "row37501"}]
    assert result["count"] == n
    assert (result["row_groups"], result["rows"]) == (10, n)
    assert result["glob"] == [f"datasets/{repo_id}/data/train-00000-of-00001.parquet"]
    assert len(data) > 100_000  # big enough that the reads above are ranges, not one GET


# --- CSV: train.csv / test.csv, a branch and an older commit ---------------------------------


@pytest.fixture(scope="module")
def csv_repo(hub_server: HubServer, owner: dict[str, str]) -> dict[str, str]:
    token = owner["token"]
    repo_id = _dataset(hub_server, token)
    first = _upload(
        hub_server,
        token,
        repo_id,
        {"train.csv": "a,b\n1,x\n2,y\n", "test.csv": "a,b\n3,z\n"},
        message="First version",
    )
    hub_server.api(token).create_branch(repo_id, repo_type="dataset", branch="v2", revision=first)
    _upload(hub_server, token, repo_id, {"test.csv": "a,b\n9,q\n"}, revision="v2")
    _upload(hub_server, token, repo_id, {"test.csv": "a,b\n4,w\n"}, message="New test row")
    return {"repo_id": repo_id, "first": first}


def test_csv_splits_from_file_names(hub_server: HubServer, csv_repo: dict[str, str]) -> None:
    repo_id = csv_repo["repo_id"]
    result = run_client(
        hub_server,
        f"""
        from datasets import get_dataset_split_names, load_dataset

        streamed = load_dataset({repo_id!r}, streaming=True)
        result = {{
            "stream": {{split: list(ds) for split, ds in streamed.items()}},
            "train": load_dataset({repo_id!r}, split="train").to_list(),
            "splits": sorted(get_dataset_split_names({repo_id!r})),
        }}
        """,
    )
    assert result["stream"] == {
        "train": [{"a": 1, "b": "x"}, {"a": 2, "b": "y"}],
        "test": [{"a": 4, "b": "w"}],
    }
    assert result["train"] == [{"a": 1, "b": "x"}, {"a": 2, "b": "y"}]
    assert result["splits"] == ["test", "train"]


def test_revision_branch_and_commit_sha(hub_server: HubServer, csv_repo: dict[str, str]) -> None:
    repo_id, first = csv_repo["repo_id"], csv_repo["first"]
    result = run_client(
        hub_server,
        f"""
        from datasets import load_dataset

        def rows(**kw):
            return list(load_dataset({repo_id!r}, split="test", streaming=True, **kw))

        result = {{
            "main": rows(),
            "branch": rows(revision="v2"),
            "sha": rows(revision={first!r}),
            "sha_loaded": load_dataset({repo_id!r}, split="test", revision={first!r}).to_list(),
            "missing": outcome(lambda: rows(revision="no-such-branch")),
        }}
        """,
    )
    assert result["main"] == [{"a": 4, "b": "w"}]
    assert result["branch"] == [{"a": 9, "b": "q"}]
    assert result["sha"] == [{"a": 3, "b": "z"}]
    assert result["sha_loaded"] == [{"a": 3, "b": "z"}]
    assert result["missing"]["error"] == NOT_FOUND
    assert "Revision 'no-such-branch' doesn't exist" in result["missing"]["message"]


# --- a card with `configs:` --------------------------------------------------------------------

CARD = """---
configs:
- config_name: en
  data_files:
  - split: train
    path: en/*.jsonl
  - split: validation
    path: en/dev.jsonl
  default: true
- config_name: fr
  data_files: fr/*.jsonl
---
# Greetings

Two languages, one config each.
"""


def test_configs_from_the_card(hub_server: HubServer, owner: dict[str, str]) -> None:
    repo_id = _dataset(
        hub_server,
        owner["token"],
        {
            "README.md": CARD,
            "en/part-0.jsonl": '{"t": "hello"}\n{"t": "world"}\n',
            "en/dev.jsonl": '{"t": "hi"}\n',
            "fr/part-0.jsonl": '{"t": "bonjour"}\n',
            "unrelated.csv": "x\n1\n",  # named by no config: never read
        },
    )
    result = run_client(
        hub_server,
        f"""
        from datasets import get_dataset_config_names, get_dataset_split_names, load_dataset

        result = {{
            "configs": get_dataset_config_names({repo_id!r}),
            "en_splits": sorted(get_dataset_split_names({repo_id!r}, "en")),
            "default": list(load_dataset({repo_id!r}, split="validation", streaming=True)),
            "fr": load_dataset({repo_id!r}, "fr", split="train").to_list(),
        }}
        """,
    )
    assert result["configs"] == ["en", "fr"]
    assert result["en_splits"] == ["train", "validation"]
    assert result["default"] == [{"t": "hi"}]
    assert result["fr"] == [{"t": "bonjour"}]


# --- private and gated datasets ------------------------------------------------------------------


def test_private_dataset_needs_a_token(hub_server: HubServer, owner: dict[str, str]) -> None:
    repo_id = _dataset(
        hub_server, owner["token"], {"train.jsonl": '{"x": 1}\n{"x": 2}\n'}, private=True
    )
    _outsider, outsider_token = hub_server.create_user(role="read")
    code = f"""
        from datasets import load_dataset

        result = {{
            "streamed": outcome(
                lambda: list(load_dataset({repo_id!r}, split="train", streaming=True))
            ),
            "loaded": outcome(lambda: load_dataset({repo_id!r}, split="train").num_rows),
        }}
        """
    # A fresh process (and cache) per caller: the client answers from its cache when the
    # hub refuses, so one process that read the files would hide the refusal.
    assert run_client(hub_server, code, token=owner["token"]) == {
        "streamed": {"ok": [{"x": 1}, {"x": 2}]},
        "loaded": {"ok": 2},
    }
    for token in (None, outsider_token):
        result = run_client(hub_server, code, token=token)
        for how in ("streamed", "loaded"):
            assert result[how]["error"] == NOT_FOUND, result[how]
            assert "doesn't exist on the Hub or cannot be accessed" in result[how]["message"]


def test_gated_dataset_after_access_is_granted(
    hub_server: HubServer, owner: dict[str, str]
) -> None:
    repo_id = _dataset(hub_server, owner["token"], {"train.jsonl": '{"x": 1}\n'})
    api = hub_server.api(owner["token"])
    api.update_repo_settings(repo_id, repo_type="dataset", gated="manual")
    reader, reader_token = hub_server.create_user(role="read")
    code = f"""
        from datasets import load_dataset

        result = outcome(lambda: list(load_dataset({repo_id!r}, split="train", streaming=True)))
        """
    anonymous = run_client(hub_server, code)
    assert anonymous["error"] == NOT_FOUND
    assert "is a gated dataset on the Hub. You must be authenticated" in anonymous["message"]
    waiting = run_client(hub_server, code, token=reader_token)
    assert waiting["error"] == NOT_FOUND
    assert "is a gated dataset on the Hub. Visit the dataset page" in waiting["message"]
    api.grant_access(repo_id, reader, repo_type="dataset")
    assert run_client(hub_server, code, token=reader_token) == {"ok": [{"x": 1}]}


# --- Dataset.push_to_hub -------------------------------------------------------------------------


def test_push_to_hub_writes_parquet_and_card(
    hub_server: HubServer, owner: dict[str, str], tmp_path: Path
) -> None:
    repo_id = f"{owner['user']}/{hub_server.unique('pushed')}"
    result = run_client(
        hub_server,
        f"""
        from datasets import Dataset, DatasetDict, load_dataset

        ds = Dataset.from_dict({{"n": [1, 2, 3], "s": ["a", "b", "c"]}})
        first = ds.push_to_hub({repo_id!r}, private=True)
        DatasetDict({{"train": ds, "validation": ds.select([0])}}).push_to_hub(
            {repo_id!r}, config_name="small", commit_message="Add the small config"
        )
        result = {{
            "commit_url": str(first),
            "default": load_dataset({repo_id!r}, split="train").to_list(),
            "small": load_dataset({repo_id!r}, "small", split="validation").to_list(),
        }}
        """,
        token=owner["token"],
    )
    rows = [{"n": 1, "s": "a"}, {"n": 2, "s": "b"}, {"n": 3, "s": "c"}]
    assert result["default"] == rows
    assert result["small"] == rows[:1]
    assert result["commit_url"].startswith(f"{hub_server.url}/datasets/{repo_id}/commit/")

    api = hub_server.api(owner["token"])
    info = api.dataset_info(repo_id, files_metadata=True)
    assert info.private is True  # push_to_hub created the repo through create_repo
    files = {s.rfilename: s for s in info.siblings}
    assert set(files) == {
        ".gitattributes",
        "README.md",
        "data/train-00000-of-00001.parquet",
        "small/train-00000-of-00001.parquet",
        "small/validation-00000-of-00001.parquet",
    }
    assert files["data/train-00000-of-00001.parquet"].lfs is not None  # Parquet goes to LFS
    readme = Path(
        api.hf_hub_download(repo_id, "README.md", repo_type="dataset", cache_dir=tmp_path)
    ).read_text()
    assert "config_name: small" in readme
    assert "path: small/validation-*" in readme
    commits = api.list_repo_commits(repo_id, repo_type="dataset")
    assert commits[0].title == "Add the small config"
    card = info.card_data.to_dict() if info.card_data else {}
    assert [c["config_name"] for c in card["configs"]] == ["default", "small"]
    assert {c["config_name"]: c["splits"][0]["num_examples"] for c in card["dataset_info"]} == {
        "default": 3,
        "small": 3,
    }
