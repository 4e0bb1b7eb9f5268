"""Run `datasets` and `transformers` as their users do: a fresh Python process whose
environment points the libraries at the live hub.

Both libraries (and huggingface_hub under them) read `HF_ENDPOINT` and `HF_TOKEN` when they
are imported (`datasets/config.py`, `huggingface_hub/constants.py`), and the test server's
address is only known once it runs. So each call runs in a child process with
`HF_ENDPOINT=<server> HF_HUB_DISABLE_XET=1 [HF_TOKEN=...]` and an empty `HF_HOME` of its own:
the same calls, same environment, no patch on the client side. A fresh cache per process
also matters for the refusals: huggingface_hub answers a failed metadata request from its
cache when it can (file_download.py `_get_metadata_or_catch_error`), so a second process
sharing the first one's cache would see a private file it is no longer allowed to read.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path
from typing import Any

from tests.conftest import require_service
from tests.e2e.conftest import HubServer

_MARKER = "@@hubforge-result@@"

# Helpers the child scripts may use: `outcome(fn)` turns an exception into data the test can
# assert on (the client library's own exception class and message).
_PRELUDE = """
import json

def outcome(fn):
    try:
        return {"ok": fn()}
    except Exception as exc:  # the test asserts on the client's own error
        kind = type(exc)
        return {"error": f"{kind.__module__}.{kind.__qualname__}", "message": str(exc)}
"""


def require_modules(*names: str) -> None:
    """Skip locally, fail in CI (CI=true), when a client library is not installed."""
    for name in names:
        require_service(
            f"the Python package {name} (pip install -e '.[test]')",
            importlib.util.find_spec(name) is not None,
        )


def client_env(server: HubServer, *, token: str | None, home: Path) -> dict[str, str]:
    """The environment a user sets: the hub's address, no Xet, a token or none."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("HF_", "HUGGING", "HUB_", "DJANGO_", "TRANSFORMERS_"))
    }
    env.update(
        HF_ENDPOINT=server.url,
        HF_HUB_DISABLE_XET="1",
        HF_HOME=str(home),
        HF_HUB_DISABLE_TELEMETRY="1",
        HF_HUB_DISABLE_PROGRESS_BARS="1",
        HF_DATASETS_DISABLE_PROGRESS_BARS="1",
        TRANSFORMERS_VERBOSITY="error",
        TOKENIZERS_PARALLELISM="false",
        OMP_NUM_THREADS="1",  # two cores shared by the whole suite
    )
    if token:
        env["HF_TOKEN"] = token
    return env


def run_client(
    server: HubServer, code: str, *, token: str | None = None, timeout: float = 300
) -> Any:
    """Run `code` in a fresh Python process against `server`; return its `result` variable.

    `code` is a script body that assigns a JSON-serialisable `result`. The process has its
    own empty HF_HOME, so nothing is answered from an earlier process's cache.
    """
    with tempfile.TemporaryDirectory(prefix="hubforge-client-") as home:
        script = (
            _PRELUDE
            + textwrap.dedent(code)
            + f"\nprint({_MARKER!r} + json.dumps(result, default=str), flush=True)\n"
        )
        proc = subprocess.run(
            [sys.executable, "-c", script],
            env=client_env(server, token=token, home=Path(home)),
            cwd=home,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    lines = [line for line in proc.stdout.splitlines() if line.startswith(_MARKER)]
    failure = (
        f"client process exited {proc.returncode}:\n{proc.stdout[-3000:]}\n{proc.stderr[-6000:]}"
        f"\n--- server log ---\n{server.log_tail(3000)}"
    )
    assert proc.returncode == 0, failure
    assert lines, failure
    return json.loads(lines[-1][len(_MARKER) :])
