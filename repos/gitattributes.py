"""The `.gitattributes` a new repo starts with, routing the usual large files to LFS."""

from __future__ import annotations

from repos.models import RepoKind

_COMMON = [
    "*.7z", "*.arrow", "*.bin", "*.bz2", "*.ckpt", "*.ftz", "*.gz", "*.h5", "*.joblib",
    "*.lfs.*", "*.lz4", "*.mds", "*.mlmodel", "*.model", "*.msgpack", "*.npy", "*.npz",
    "*.onnx", "*.ot", "*.parquet", "*.pb", "*.pickle", "*.pkl", "*.pt", "*.pth", "*.rar",
    "*.safetensors", "saved_model/**/*", "*.tar.*", "*.tar", "*.tflite", "*.tgz", "*.wasm",
    "*.xz", "*.zip", "*.zst", "*tfevents*",
]
_DATASET_EXTRA = [
    ("# Audio files - uncompressed", ["*.pcm", "*.sam", "*.raw"]),
    ("# Audio files - compressed", ["*.aac", "*.flac", "*.mp3", "*.ogg", "*.wav"]),
    ("# Image files - uncompressed", ["*.bmp", "*.gif", "*.png", "*.tiff"]),
    ("# Image files - compressed", ["*.jpg", "*.jpeg", "*.webp"]),
    ("# Video files - compressed", ["*.mp4", "*.webm"]),
]


def _line(pattern: str) -> str:
    return f"{pattern} filter=lfs diff=lfs merge=lfs -text"


def default_gitattributes(kind: str) -> bytes:
    lines = [_line(p) for p in _COMMON]
    if kind == RepoKind.DATASET:
        lines.append("*.jsonl filter=lfs diff=lfs merge=lfs -text")
        for comment, patterns in _DATASET_EXTRA:
            lines.append(comment)
            lines.extend(_line(p) for p in patterns)
    return ("\n".join(lines) + "\n").encode()
