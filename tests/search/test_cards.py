"""Card metadata extraction: fields, inference from files, derived tags, hostile input."""

from __future__ import annotations

import json
import time

import pytest

from search.cards import MAX_CARD_TEXT, MAX_LIST, extract_metadata

ALIAS_BOMB = """---
a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]
i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]
license: mit
---
body
"""


def model(readme: str, files: tuple[str, ...]):  # type: ignore[no-untyped-def]
    return extract_metadata(kind="model", readme=readme, files=list(files))


def test_model_card_fields_and_hub_style_tags() -> None:
    readme = """---
license: Apache-2.0
library_name: transformers
pipeline_tag: text-classification
language: [en, FR]
datasets: [squad, org/glue]
tags: [sentiment, sentiment]
base_model: google/bert-base
model-index:
- name: m
  results:
  - task: {type: text-classification}
    dataset: {name: SST-2, type: sst2}
    metrics: [{type: accuracy, value: 0.93}]
---
# My model

Classifies things.
"""
    meta = model(readme, files=("config.json", "model.safetensors"))
    assert meta.license == "apache-2.0"
    assert (meta.library, meta.pipeline_tag) == ("transformers", "text-classification")
    assert meta.languages == ["en", "fr"]
    assert meta.datasets == ["squad", "org/glue"]
    assert (meta.base_models, meta.base_model_relation) == (["google/bert-base"], "finetune")
    assert meta.eval_results == [
        {"task": "text-classification", "dataset": "SST-2", "metric": "accuracy", "value": 0.93}
    ]
    assert meta.tags == [
        "transformers", "safetensors", "text-classification", "sentiment", "en", "fr",
        "dataset:squad", "dataset:org/glue", "base_model:google/bert-base",
        "base_model:finetune:google/bert-base", "license:apache-2.0",
    ]  # fmt: skip
    assert meta.card_text.strip().startswith("# My model")
    assert meta.warnings == []


@pytest.mark.parametrize(
    ("files", "small", "library", "task"),
    [
        (("config.json",), {"config.json": {"architectures": ["LlamaForCausalLM"]}},
         "transformers", "text-generation"),
        (("config.json",), {"config.json": {"architectures": ["BertForMaskedLM"]}},
         "transformers", "fill-mask"),
        (("config.json",), {"config.json": {"architectures": ["WhisperForConditionalGeneration"],
                                            "model_type": "whisper"}},
         "transformers", "automatic-speech-recognition"),
        (("config.json",), {"config.json": {"architectures": ["BertModel"]}},
         "transformers", "feature-extraction"),
        (("model_index.json",), {"model_index.json": {"_class_name": "StableDiffusionPipeline"}},
         "diffusers", "text-to-image"),
        (("modules.json", "config.json"), {"config.json": {"architectures": ["BertModel"]}},
         "sentence-transformers", "sentence-similarity"),
        (("llama-7b.Q4_K_M.gguf",), {}, "gguf", ""),
        (("adapter_config.json",), {"adapter_config.json": {"base_model_name_or_path": "o/b"}},
         "peft", ""),
    ],
)  # fmt: skip
def test_library_and_task_inferred_from_files(files, small, library, task) -> None:  # type: ignore[no-untyped-def]
    blobs = {k: json.dumps(v).encode() for k, v in small.items()}
    meta = extract_metadata(kind="model", readme=None, files=list(files), small_files=blobs)
    assert (meta.library, meta.pipeline_tag) == (library, task)


def test_card_wins_over_inference_and_relations_are_derived() -> None:
    config = {"config.json": json.dumps({"architectures": ["LlamaForCausalLM"]}).encode()}
    meta = extract_metadata(
        kind="model",
        readme="---\npipeline_tag: summarization\nlibrary_name: mine\n---\n",
        files=["config.json"],
        small_files=config,
    )
    assert (meta.library, meta.pipeline_tag) == ("mine", "summarization")
    quantized = extract_metadata(kind="model", readme="---\nbase_model: o/llama\n---\n",
                                 files=["m.Q4.gguf"])  # fmt: skip
    assert quantized.base_model_relation == "quantized"
    assert "base_model:quantized:o/llama" in quantized.tags
    adapter = extract_metadata(
        kind="model",
        readme=None,
        files=["adapter_config.json"],
        small_files={"adapter_config.json": b'{"base_model_name_or_path": "o/llama"}'},
    )
    assert (adapter.base_models, adapter.base_model_relation) == (["o/llama"], "adapter")
    merge = extract_metadata(kind="model", readme="---\nbase_model: [o/a, o/b]\n---\n", files=[])
    assert merge.base_model_relation == "merge"
    declared = extract_metadata(
        kind="model", readme="---\nbase_model: o/a\nbase_model_relation: adapter\n---\n", files=[]
    )
    assert declared.base_model_relation == "adapter"
    local = extract_metadata(
        kind="model",
        readme=None,
        files=["adapter_config.json"],
        small_files={"adapter_config.json": b'{"base_model_name_or_path": "/home/me/llama"}'},
    )
    assert local.base_models == []  # a local path names no repo


def test_dataset_card_uses_prefixed_tags() -> None:
    readme = """---
license: cc-by-4.0
language: [en]
task_categories: [question-answering]
task_ids: [extractive-qa]
size_categories: [10K<n<100K]
tags: [wiki]
---
"""
    meta = extract_metadata(kind="dataset", readme=readme, files=["data/train.parquet"])
    assert meta.task_categories == ["question-answering"]
    assert meta.size_categories == ["10K<n<100K"]
    assert meta.tags == [
        "wiki", "task_categories:question-answering", "task_ids:extractive-qa",
        "size_categories:10K<n<100K", "language:en", "format:parquet", "license:cc-by-4.0",
    ]  # fmt: skip
    assert meta.facet_values("dataset")["task"] == ["question-answering"]


@pytest.mark.parametrize(
    "readme",
    [
        "---\n!!python/object/apply:os.system [id]\n---\nbody\n",
        "---\nx: !!python/object/apply:os.system [id]\n---\nbody\n",
        ALIAS_BOMB,
        "---\nlicense: mit\nlicense: apache-2.0\n---\nbody\n",
        "---\n- a\n- b\n---\nbody\n",
        "---\n" + "a: " * 200 + "\n---\nbody\n",
        "---\n" + "x: [" * 100 + "]" * 100 + "\n---\nbody\n",
        "---\nkey: \"unterminated\n---\nbody\n",
    ],
    ids=["python-tag-top", "python-tag", "alias-bomb", "duplicate-keys", "top-level-list",
         "garbage", "deep-nesting", "bad-yaml"],
)  # fmt: skip
def test_hostile_front_matter_is_a_warning_never_an_error(readme: str) -> None:
    started = time.monotonic()
    meta = extract_metadata(kind="model", readme=readme, files=[])
    assert time.monotonic() - started < 2
    assert meta.card_data == {}
    assert meta.warnings
    assert meta.license == ""
    assert len(json.dumps(meta.card_data)) < 100
    assert meta.card_text.strip() == "body"


def test_ten_megabytes_of_yaml_is_refused_quickly() -> None:
    readme = "---\n" + "".join(f"k{i}: {'v' * 40}\n" for i in range(250_000))
    readme += "---\nbody\n"
    assert len(readme) > 10 * 10**6
    started = time.monotonic()
    meta = extract_metadata(kind="model", readme=readme, files=[])
    assert time.monotonic() - started < 2
    assert meta.card_data == {}
    assert "larger than" in meta.warnings[0]


def test_wrong_types_are_ignored_with_warnings_and_bounded() -> None:
    readme = (
        "---\n"
        "license: {a: b}\n"
        "pipeline_tag: [1, 2]\n"
        "language: [en, 3, {x: y}, null]\n"
        f"tags: {json.dumps([f't{i}' for i in range(MAX_LIST + 50)])}\n"
        "base_model_relation: sideways\n"
        "base_model: o/x\n"
        "---\n" + "word " * 30_000
    )
    meta = extract_metadata(kind="model", readme=readme, files=[])
    assert meta.license == ""
    assert meta.pipeline_tag == ""
    assert meta.languages == ["en", "3"]
    assert len([t for t in meta.tags if t.startswith("t")]) == MAX_LIST
    assert meta.base_model_relation == "finetune"
    assert len(meta.card_text) == MAX_CARD_TEXT
    text = " ".join(meta.warnings)
    for fragment in ('"license"', '"pipeline_tag"', '"language"', '"tags"', "base_model_relation"):
        assert fragment in text


def test_broken_json_files_do_not_stop_extraction() -> None:
    meta = extract_metadata(
        kind="model",
        readme="---\nlicense: mit\n---\n",
        files=["config.json", "model_index.json"],
        small_files={"config.json": b"{not json", "model_index.json": b"[1, 2]"},
    )
    assert meta.license == "mit"
    assert any("config.json" in w for w in meta.warnings)
