"""Card metadata: what the public hub derives from a README's front matter and the repo's files.

Pure functions over plain data (the card text and a few small JSON files), so they test
without git. Parsing goes through `repos.cards.parse_front_matter` (safe YAML: no
aliases, size and depth limits, SECURITY.md 4 and 38); this module only reads the
resulting dict, and every field it does not understand becomes a warning for the owner,
never an exception: a hostile card must never fail a push or a request.

Derived tags follow the Hub's conventions (what `model_info(...).tags` returns there):
models get the library, framework and format tags (`transformers`, `safetensors`, `gguf`),
the architecture's `model_type`, the task, language codes, `license:x`, `dataset:x`,
`base_model:x` and `base_model:<relation>:x`; datasets get the prefixed forms
(`task_categories:x`, `language:x`, `size_categories:x`, `license:x`, ...).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from repos.cards import check_card_metadata, parse_front_matter

MAX_CARD_TEXT = 64 * 1024  # characters of Markdown kept for full-text search
MAX_LIST = 100  # values kept per list field (tags, languages, datasets, ...)
MAX_VALUE = 200  # characters per value
MAX_JSON_FILE = 256 * 1024  # config.json and friends are read only below this size
MAX_EVAL_RESULTS = 200

RELATIONS = ("adapter", "merge", "quantized", "finetune")
# Files read besides README.md, to infer the library, task and base model.
INFERENCE_FILES = ("config.json", "model_index.json", "adapter_config.json")

# Architecture class suffix -> pipeline tag, as transformers' auto classes name them.
_ARCH_TASKS = (
    ("ForCausalLM", "text-generation"),
    ("LMHeadModel", "text-generation"),
    ("ForSequenceClassification", "text-classification"),
    ("ForTokenClassification", "token-classification"),
    ("ForQuestionAnswering", "question-answering"),
    ("ForMaskedLM", "fill-mask"),
    ("ForImageClassification", "image-classification"),
    ("ForObjectDetection", "object-detection"),
    ("ForSemanticSegmentation", "image-segmentation"),
    ("ForCTC", "automatic-speech-recognition"),
    ("ForSpeechSeq2Seq", "automatic-speech-recognition"),
    ("ForAudioClassification", "audio-classification"),
    ("ForConditionalGeneration", "text2text-generation"),
)
# ForConditionalGeneration means different tasks for these model types.
_CONDITIONAL_BY_TYPE = {
    "whisper": "automatic-speech-recognition",
    "llava": "image-text-to-text",
    "idefics2": "image-text-to-text",
    "paligemma": "image-text-to-text",
    "qwen2_vl": "image-text-to-text",
    "blip": "image-to-text",
    "blip-2": "image-to-text",
    "musicgen": "text-to-audio",
}
# File name (or suffix) -> framework/format tag, as the Hub shows them.
_FILE_TAGS = (
    (".safetensors", "safetensors"),
    (".gguf", "gguf"),
    ("pytorch_model.bin", "pytorch"),
    (".onnx", "onnx"),
    ("tf_model.h5", "tf"),
    ("flax_model.msgpack", "jax"),
)
_DATASET_LIST_FIELDS = (
    "task_categories",
    "task_ids",
    "size_categories",
    "multilinguality",
    "language_creators",
    "annotations_creators",
    "source_datasets",
)
_DATA_FORMATS = {".parquet": "parquet", ".csv": "csv", ".json": "json", ".jsonl": "json",
                 ".arrow": "arrow", ".txt": "text", ".tsv": "csv"}  # fmt: skip
_CLEAN = re.compile(r"[\x00-\x1f\x7f]")
_REPO_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")


@dataclass
class CardMetadata:
    """Everything search and model_info need from one commit of a repo."""

    card_data: dict[str, Any] = field(default_factory=dict)
    card_text: str = ""
    tags: list[str] = field(default_factory=list)
    library: str = ""
    pipeline_tag: str = ""
    license: str = ""
    languages: list[str] = field(default_factory=list)
    datasets: list[str] = field(default_factory=list)
    base_models: list[str] = field(default_factory=list)
    base_model_relation: str = ""
    task_categories: list[str] = field(default_factory=list)
    size_categories: list[str] = field(default_factory=list)
    eval_results: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def facet_values(self, kind: str) -> dict[str, list[str]]:
        """Values per facet (task, library, license, language, dataset, size)."""
        if kind == "dataset":
            return {
                "task": self.task_categories,
                "library": [self.library] if self.library else [],
                "license": [self.license] if self.license else [],
                "language": self.languages,
                "size": self.size_categories,
            }
        return {
            "task": [self.pipeline_tag] if self.pipeline_tag else [],
            "library": [self.library] if self.library else [],
            "license": [self.license] if self.license else [],
            "language": self.languages,
            "dataset": self.datasets,
        }


def _value(raw: Any) -> str | None:
    """A clean, bounded string from a card value, or None when it is not one."""
    if isinstance(raw, bool) or raw is None:
        return None
    if isinstance(raw, int | float):
        raw = str(raw)
    if not isinstance(raw, str):
        return None
    text = _CLEAN.sub("", raw).strip()
    return text[:MAX_VALUE] if text else None


def _str_list(data: Mapping[str, Any], key: str, warnings: list[str]) -> list[str]:
    """A field that the Hub accepts as a string or a list of strings."""
    raw = data.get(key)
    if raw is None:
        return []
    items = raw if isinstance(raw, list) else [raw]
    out: list[str] = []
    skipped = 0
    for item in items:
        value = _value(item)
        if value is None:
            skipped += 1
        elif value not in out:
            out.append(value)
    if skipped:
        warnings.append(f'"{key}": {skipped} value(s) that are not strings were ignored.')
    if len(out) > MAX_LIST:
        warnings.append(f'"{key}": only the first {MAX_LIST} values are used.')
        out = out[:MAX_LIST]
    return out


def _str(data: Mapping[str, Any], key: str, warnings: list[str]) -> str:
    raw = data.get(key)
    if raw is None:
        return ""
    value = _value(raw)
    if value is None:
        warnings.append(f'"{key}" must be a string; it was ignored.')
        return ""
    return value


def _load_json(raw: bytes | None, name: str, warnings: list[str]) -> dict[str, Any]:
    if raw is None:
        return {}
    if len(raw) > MAX_JSON_FILE:
        warnings.append(f"{name} is larger than {MAX_JSON_FILE // 1024} KiB: not read.")
        return {}
    try:
        data = json.loads(raw.decode("utf-8", "replace"))
    except (ValueError, RecursionError):
        warnings.append(f"{name} is not valid JSON: not used to infer metadata.")
        return {}
    return data if isinstance(data, dict) else {}


def _file_tags(files: Iterable[str]) -> list[str]:
    tags: list[str] = []
    for path in files:
        lower = path.lower()
        for pattern, tag in _FILE_TAGS:
            if lower.endswith(pattern) and tag not in tags:
                tags.append(tag)
    return tags


def _task_from_architecture(config: Mapping[str, Any]) -> str:
    archs = config.get("architectures")
    model_type = _value(config.get("model_type")) or ""
    if not isinstance(archs, list):
        return ""
    for arch in archs:
        if not isinstance(arch, str):
            continue
        for suffix, task in _ARCH_TASKS:
            if arch.endswith(suffix):
                if suffix == "ForConditionalGeneration":
                    return _CONDITIONAL_BY_TYPE.get(model_type.lower(), task)
                return task
        if arch.endswith("Model"):
            return "feature-extraction"
    return ""


def _task_from_diffusers(index: Mapping[str, Any]) -> str:
    name = _value(index.get("_class_name")) or ""
    if "Video" in name:
        return "text-to-video"
    if "Img2Img" in name or "Inpaint" in name or "InstructPix2Pix" in name:
        return "image-to-image"
    if "Audio" in name:
        return "text-to-audio"
    return "text-to-image"


def _eval_results(model_index: Any) -> list[dict[str, Any]]:
    """`model-index` flattened to {task, dataset, metric, value} rows (the Hub's evalResults)."""
    out: list[dict[str, Any]] = []
    if not isinstance(model_index, list):
        return out
    for entry in model_index:
        results = entry.get("results") if isinstance(entry, dict) else None
        for result in results if isinstance(results, list) else []:
            if not isinstance(result, dict):
                continue
            task = result.get("task") if isinstance(result.get("task"), dict) else {}
            dataset = result.get("dataset") if isinstance(result.get("dataset"), dict) else {}
            metrics = result.get("metrics")
            for metric in metrics if isinstance(metrics, list) else []:
                if not isinstance(metric, dict) or len(out) >= MAX_EVAL_RESULTS:
                    continue
                value = metric.get("value")
                out.append(
                    {
                        "task": _value(task.get("type")) or "",
                        "dataset": _value(dataset.get("name")) or _value(dataset.get("type")) or "",
                        "metric": _value(metric.get("type")) or _value(metric.get("name")) or "",
                        "value": value if isinstance(value, int | float | str) else None,
                    }
                )
    return out


def _relation(
    declared: str, *, adapter: bool, quantized: bool, base_models: list[str], warnings: list[str]
) -> str:
    if not base_models:
        return ""
    if declared:
        if declared in RELATIONS:
            return declared
        warnings.append(f'"base_model_relation" must be one of {", ".join(RELATIONS)}.')
    if adapter:
        return "adapter"
    if quantized:
        return "quantized"
    if len(base_models) > 1:
        return "merge"
    return "finetune"


def extract_metadata(
    *,
    kind: str,
    readme: str | None,
    files: list[str],
    small_files: Mapping[str, bytes] | None = None,
) -> CardMetadata:
    """Card data, derived fields and tags of one commit; never raises on hostile input.

    `readme` is README.md's text (None when absent), `files` every file path of the
    commit, `small_files` the contents of the INFERENCE_FILES present at the root.
    """
    small_files = small_files or {}
    meta = CardMetadata()
    warnings = meta.warnings
    data: dict[str, Any] = {}
    if readme is not None:
        data, body, errors = parse_front_matter(readme)
        warnings.extend(errors)
        if data:
            warnings.extend(check_card_metadata(data, repo_type=kind))
        meta.card_text = body[:MAX_CARD_TEXT]
    meta.card_data = data
    card_tags = _str_list(data, "tags", warnings)
    licenses = _str_list(data, "license", warnings)
    meta.license = licenses[0].lower() if licenses else ""
    languages = _str_list(data, "language", warnings) or _str_list(data, "languages", warnings)
    meta.languages = [lang.lower() for lang in languages]
    meta.datasets = _str_list(data, "datasets", warnings)
    meta.eval_results = _eval_results(data.get("model-index"))
    if kind == "dataset":
        _dataset_fields(meta, data, files, card_tags)
    else:
        _model_fields(meta, data, files, small_files, card_tags)
    meta.tags = meta.tags[: MAX_LIST * 3]
    return meta


def _model_fields(
    meta: CardMetadata,
    data: Mapping[str, Any],
    files: list[str],
    small_files: Mapping[str, bytes],
    card_tags: list[str],
) -> None:
    warnings = meta.warnings
    root = set(files)
    config = _load_json(small_files.get("config.json"), "config.json", warnings)
    diffusers = _load_json(small_files.get("model_index.json"), "model_index.json", warnings)
    adapter = _load_json(small_files.get("adapter_config.json"), "adapter_config.json", warnings)
    file_tags = _file_tags(files)

    library = _str(data, "library_name", warnings)
    if not library:
        if "adapter_config.json" in root:
            library = "peft"
        elif "model_index.json" in root:
            library = "diffusers"
        elif "modules.json" in root or "config_sentence_transformers.json" in root:
            library = "sentence-transformers"
        elif config.get("architectures") or config.get("model_type"):
            library = "transformers"
        elif "gguf" in file_tags:
            library = "gguf"
    meta.library = library

    task = _str(data, "pipeline_tag", warnings)
    if not task:
        if library == "sentence-transformers":
            task = "sentence-similarity"
        elif diffusers:
            task = _task_from_diffusers(diffusers)
        elif config:
            task = _task_from_architecture(config)
    meta.pipeline_tag = task

    base_models = _str_list(data, "base_model", warnings)
    from_adapter = _value(adapter.get("base_model_name_or_path"))
    if not base_models and from_adapter and _REPO_ID.match(from_adapter):
        base_models = [from_adapter]  # a local path names no repo: only `org/name` is kept
    meta.base_models = base_models
    meta.base_model_relation = _relation(
        _str(data, "base_model_relation", warnings),
        adapter="adapter_config.json" in root,
        quantized="gguf" in file_tags or isinstance(config.get("quantization_config"), dict),
        base_models=base_models,
        warnings=warnings,
    )

    tags: list[str] = []
    model_type = _value(config.get("model_type"))
    for tag in (library, *file_tags, model_type, task, *card_tags):
        if tag and tag not in tags:
            tags.append(tag)
    tags += [t for t in meta.languages if t not in tags]
    tags += [f"dataset:{d}" for d in meta.datasets]
    for base in base_models:
        tags.append(f"base_model:{base}")
        tags.append(f"base_model:{meta.base_model_relation}:{base}")
    if meta.license:
        tags.append(f"license:{meta.license}")
    meta.tags = tags


def _dataset_fields(
    meta: CardMetadata, data: Mapping[str, Any], files: list[str], card_tags: list[str]
) -> None:
    warnings = meta.warnings
    lists = {key: _str_list(data, key, warnings) for key in _DATASET_LIST_FIELDS}
    meta.task_categories = lists["task_categories"]
    meta.size_categories = lists["size_categories"]
    meta.library = _str(data, "library_name", warnings)
    tags = [t for t in dict.fromkeys(card_tags)]
    for key, values in lists.items():
        tags += [f"{key}:{v}" for v in values]
    tags += [f"language:{lang}" for lang in meta.languages]
    formats = {
        fmt for path in files for suffix, fmt in _DATA_FORMATS.items() if path.endswith(suffix)
    }
    tags += [f"format:{fmt}" for fmt in sorted(formats)]
    if meta.library:
        tags.append(f"library:{meta.library}")
    if meta.license:
        tags.append(f"license:{meta.license}")
    meta.tags = list(dict.fromkeys(tags))
