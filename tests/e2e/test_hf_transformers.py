"""`transformers` `from_pretrained` and `push_to_hub`, unmodified, against a live hub.

One process builds a tiny BERT (config, a word-level `tokenizers` tokenizer, safetensors
weights) and publishes it; another process, with an empty cache, loads it back with the
Auto classes and must compute the same outputs (tests/e2e/hf_libraries.py). torch is the
CPU build (pyproject's test extra pins the one that lies on the CI machine's disk).
"""

from __future__ import annotations

import textwrap

import pytest

from tests.e2e.conftest import HubServer
from tests.e2e.hf_libraries import require_modules, run_client

pytestmark = pytest.mark.e2e

# Runs in the child processes: the same tiny model, tokenizer and input every time.
BUILD = """
import torch
from tokenizers import Tokenizer, models, pre_tokenizers
from transformers import BertConfig, BertModel, PreTrainedTokenizerFast

VOCAB = ["[UNK]", "[PAD]", "[CLS]", "[SEP]", "hello", "world", "hub", "forge"]

def tiny_tokenizer():
    tok = Tokenizer(models.WordLevel({w: i for i, w in enumerate(VOCAB)}, unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    return PreTrainedTokenizerFast(
        tokenizer_object=tok, unk_token="[UNK]", pad_token="[PAD]", cls_token="[CLS]",
        sep_token="[SEP]",
    )

def tiny_config(layers=1):
    return BertConfig(
        vocab_size=len(VOCAB), hidden_size=16, num_hidden_layers=layers, num_attention_heads=2,
        intermediate_size=32, max_position_embeddings=32,
    )

def tiny_model():
    torch.manual_seed(0)
    return BertModel(tiny_config()).eval()

def outputs(model):
    ids = torch.tensor([[2, 4, 5, 6, 3]])
    with torch.no_grad():
        return model(ids).last_hidden_state.flatten().tolist()
"""


def built(code: str) -> str:
    """A child script: the BUILD helpers, then `code` (dedented)."""
    return BUILD + textwrap.dedent(code)


@pytest.fixture(scope="module", autouse=True)
def _libraries() -> None:
    require_modules("transformers", "tokenizers", "torch", "safetensors")


@pytest.fixture(scope="module")
def owner(hub_server: HubServer) -> dict[str, str]:
    user, token = hub_server.create_user()
    return {"user": user, "token": token}


@pytest.fixture(scope="module")
def tiny_repo(hub_server: HubServer, owner: dict[str, str]) -> dict:
    """A model repo from save_pretrained + upload_folder: main, branch `dev` with 2 layers."""
    repo_id = hub_server.create_repo(owner["token"], hub_server.unique("tiny"))
    published = run_client(
        hub_server,
        built(
            f"""
        import tempfile
        from huggingface_hub import HfApi

        api = HfApi()
        folder = tempfile.mkdtemp()
        tiny_tokenizer().save_pretrained(folder)
        tiny_model().save_pretrained(folder)  # config.json + model.safetensors
        first = api.upload_folder(repo_id={repo_id!r}, folder_path=folder).oid
        api.create_branch({repo_id!r}, branch="dev")
        dev = tempfile.mkdtemp()
        tiny_config(layers=2).save_pretrained(dev)
        api.upload_file(
            repo_id={repo_id!r}, path_or_fileobj=dev + "/config.json",
            path_in_repo="config.json", revision="dev",
        )
        api.upload_file(repo_id={repo_id!r}, path_or_fileobj=b"later", path_in_repo="notes.txt")
        result = {{
            "first": first,
            "outputs": outputs(tiny_model()),
            "ids": tiny_tokenizer()("hello world hub forge")["input_ids"],
        }}
        """
        ),
        token=owner["token"],
    )
    return {"repo_id": repo_id, **published}


def test_config_and_tokenizer_with_revisions(hub_server: HubServer, tiny_repo: dict) -> None:
    repo_id, first = tiny_repo["repo_id"], tiny_repo["first"]
    result = run_client(
        hub_server,
        f"""
        from transformers import AutoConfig, AutoTokenizer

        def layers(**kw):
            return AutoConfig.from_pretrained({repo_id!r}, **kw).num_hidden_layers

        tok = AutoTokenizer.from_pretrained({repo_id!r})
        result = {{
            "model_type": AutoConfig.from_pretrained({repo_id!r}).model_type,
            "main": layers(),
            "dev": layers(revision="dev"),
            "sha": layers(revision={first!r}),
            "ids": tok("hello world hub forge")["input_ids"],
            "dev_ids": AutoTokenizer.from_pretrained({repo_id!r}, revision="dev")("hub")[
                "input_ids"
            ],
            "missing": outcome(lambda: layers(revision="no-such-branch")),
        }}
        """,
    )
    assert result["model_type"] == "bert"
    assert (result["main"], result["dev"], result["sha"]) == (1, 2, 1)
    assert result["ids"] == tiny_repo["ids"] == [4, 5, 6, 7]
    assert result["dev_ids"] == [6]
    assert result["missing"]["error"] == "builtins.OSError"
    assert "no-such-branch is not a valid git identifier" in result["missing"]["message"]


def test_model_from_pretrained_gives_the_same_outputs(
    hub_server: HubServer, owner: dict[str, str], tiny_repo: dict
) -> None:
    repo_id = tiny_repo["repo_id"]
    result = run_client(
        hub_server,
        built(
            f"""
        from transformers import AutoModel

        model = AutoModel.from_pretrained({repo_id!r})
        result = {{
            "class": type(model).__name__,
            "outputs": outputs(model.eval()),
            "at_sha": outputs(
                AutoModel.from_pretrained({repo_id!r}, revision={tiny_repo["first"]!r}).eval()
            ),
        }}
        """
        ),
    )
    assert result["class"] == "BertModel"
    assert result["outputs"] == tiny_repo["outputs"]
    assert result["at_sha"] == tiny_repo["outputs"]
    weights = {
        s.rfilename: s
        for s in hub_server.api(owner["token"]).model_info(repo_id, files_metadata=True).siblings
    }
    assert weights["model.safetensors"].lfs is not None  # weights went through Git LFS
    assert weights["config.json"].lfs is None


def test_push_to_hub_private_sharded(hub_server: HubServer, owner: dict[str, str]) -> None:
    """push_to_hub creates a private repo; a sharded checkpoint loads back; others are refused."""
    repo_id = f"{owner['user']}/{hub_server.unique('pushed')}"
    pushed = run_client(
        hub_server,
        built(
            f"""
        model = tiny_model()
        model.push_to_hub({repo_id!r}, private=True, max_shard_size="8KB")
        tiny_tokenizer().push_to_hub({repo_id!r}, commit_message="Add the tokenizer")
        result = outputs(model)
        """
        ),
        token=owner["token"],
    )
    api = hub_server.api(owner["token"])
    info = api.model_info(repo_id)
    assert info.private is True
    files = {s.rfilename for s in info.siblings}
    assert {"config.json", "model.safetensors.index.json", "tokenizer.json"} <= files
    shards = sorted(f for f in files if f.startswith("model-") and f.endswith(".safetensors"))
    assert len(shards) > 1
    assert api.list_repo_commits(repo_id)[0].title == "Add the tokenizer"

    load = built(
        f"""
        from transformers import AutoModel, AutoTokenizer

        result = {{
            "outputs": outcome(lambda: outputs(AutoModel.from_pretrained({repo_id!r}).eval())),
            "ids": outcome(
                lambda: AutoTokenizer.from_pretrained({repo_id!r})("forge")["input_ids"]
            ),
        }}
        """
    )
    assert run_client(hub_server, load, token=owner["token"]) == {
        "outputs": {"ok": pushed},
        "ids": {"ok": [7]},
    }
    _outsider, outsider_token = hub_server.create_user(role="read")
    for token in (None, outsider_token):
        refused = run_client(hub_server, load, token=token)
        for what in ("outputs", "ids"):
            assert refused[what]["error"] == "builtins.OSError", refused[what]
            assert (
                "is not a local folder and is not a valid model identifier"
                in (refused[what]["message"])
            )
