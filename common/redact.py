"""Keep access tokens out of logs: a logging filter that masks anything shaped like one.

Lives in `common` (no models) because logging is configured before Django's apps load.
"""

from __future__ import annotations

import logging
import re

TOKEN_RE = re.compile(r"hf_[A-Za-z0-9]{10,}")


def mask_tokens(text: str) -> str:
    """`hf_` followed by 10+ letters or digits becomes `hf_***`."""
    return TOKEN_RE.sub("hf_***", text)


class MaskTokensFilter(logging.Filter):
    """Rewrites each record's message (and its formatted traceback) with tokens masked.

    Attach it to handlers: a filter on a logger does not see records propagated from
    its children.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken format string: leave the record as logging would
            return True
        masked = mask_tokens(message)
        if masked != message:
            record.msg, record.args = masked, ()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = mask_tokens(record.exc_text)
        if record.stack_info:
            record.stack_info = mask_tokens(record.stack_info)
        return True
