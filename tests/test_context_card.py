"""The context preview card: every item listed, escaped, collapsed; what was cut, sent as
written and redacted is said."""

from __future__ import annotations

import numpy as np
import pandas as pd

from claude_nb.context.compose import compose
from claude_nb.render.contextcard import context_card_html, context_card_text


def test_card_lists_every_item_escaped() -> None:
    ns = {"df": pd.DataFrame({"a": np.arange(100)}), "evil": "<script>alert(1)</script>\n" * 3}
    c = compose("{df} {evil} {df.head()}", ns)
    html = context_card_html(c.items, c.tokens)
    assert "Context: 3 items" in html and "<details" in html and " open" not in html
    assert "<script>" not in html and html.count('class="cnb-context-item"') == 3
    assert "sent as written" in html and "truncated" in html


def test_card_text_says_what_was_redacted() -> None:
    c = compose("{api_key} {cfg}", {"api_key": "abc", "cfg": {"secret": "s", "n": 1}})
    text = context_card_text(c.items, c.tokens)
    assert text.startswith("Context: 2 items · ~")
    assert "redacted: value of api_key" in text and "redacted: value of key 'secret'" in text
