"""`%%claude` in a real kernel against the loopback server: the cache marker on every request,
cost and cache figures in the footer, `--usage`, `--models`, `--thinking`, `--effort`,
compaction and refusals."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from claude_nb.loopback import Text, Turn
from claude_nb.loopback.compaction import Compaction, refusal_details
from claude_nb.protocol.pricing import cost
from claude_nb.protocol.transcript import Usage
from claude_nb.render.apicards import cost_words
from kernel_support import kernel, run, shown

SYSTEM = "You help with pandas in a Jupyter notebook; answer briefly. " * 150


@pytest.fixture(scope="module")
def k() -> Iterator[Any]:
    with kernel() as (_km, kc):
        assert run(kc, "%load_ext claude_nb").error is None
        yield kc


@pytest.fixture
def kc(k: Any, api: Any) -> Any:
    """The module's kernel, pointed at this test's loopback, with a fresh conversation."""
    code = (f"import os; os.environ['ANTHROPIC_BASE_URL'] = {api.base_url!r}; "
            "os.environ['ANTHROPIC_API_KEY'] = 'sk-test-x'; "
            "os.environ.pop('CLAUDE_NB_BACKEND', None)\n"
            "%config Claude.cache = '5m'\n%config Claude.system = ''")
    assert run(k, code).error is None
    assert run(k, "%claude --new").error is None
    return k


def plain(ex: Any) -> str:
    parts = [ex.stream]
    for out in ex.outputs:
        parts.append(out.get("data", {}).get("text/plain", ""))
    parts.extend(d.get("text/plain", "") for d in ex.displays.values())
    return "\n".join(parts)


def posts(api: Any) -> list[Any]:
    return [r for r in api.requests if r.path == "/v1/messages"]


def test_cache_marker_on_every_request_cost_and_usage_totals(api: Any, kc: Any) -> None:
    assert run(kc, f"%config Claude.system = {SYSTEM!r}").error is None
    cells = [run(kc, f"%%claude\n{q}\n") for q in ("How many rows?", "And columns?", "Dtypes?")]
    assert all(ex.error is None for ex in cells)
    bodies = [r.body for r in posts(api)]
    assert [b["cache_control"] for b in bodies] == [{"type": "ephemeral", "ttl": "5m"}] * 3
    second = posts(api)[1].usage
    assert second["cache_read_input_tokens"] > 0 and second["cache_creation_input_tokens"] > 0
    out = shown(cells[1])
    assert f"cache read {second['cache_read_input_tokens']:,}" in out
    assert f"cache write {second['cache_creation_input_tokens']:,}" in out
    sent = posts(api)[1].stream
    assert sent is not None
    usage = Usage(input_tokens=second["input_tokens"],
                  cache_read_input_tokens=second["cache_read_input_tokens"],
                  cache_creation_input_tokens=second["cache_creation_input_tokens"])
    footer = re.search(r'cnb-tokens">in [\d,]+ · out ([\d,]+)<', out)
    assert footer is not None
    usage.output_tokens = int(footer.group(1).replace(",", ""))
    assert cost_words(cost(usage, "claude-sonnet-4-6")) in out

    table = plain(run(kc, "%claude --usage"))
    rows = [line.split() for line in table.splitlines() if re.match(r"\d+\s+claude", line)]
    total = next(line.split() for line in table.splitlines() if line.startswith("total"))
    assert len(rows) == 3
    for column in range(2, 6):  # input, output, cache write, cache read
        assert int(total[column + 1].replace(",", "")) == sum(
            int(r[column].replace(",", "")) for r in rows)
    assert int(total[3].replace(",", "")) == sum(r.usage["input_tokens"] for r in posts(api))
    spent = sum(float(r[6].lstrip("$")) for r in rows)
    assert float(total[7].lstrip("$")) == pytest.approx(spent, abs=2e-4)
    columns = "['input_tokens', 'cache_read_tokens']"
    frame = run(kc, "%claude --usage -o rows\nimport pandas as pd\n"
                    f"print(pd.DataFrame(rows)[{columns}].sum().tolist())")
    assert frame.stream.strip().splitlines()[-1] == str(
        [sum(r.usage["input_tokens"] for r in posts(api)),
         sum(r.usage["cache_read_input_tokens"] for r in posts(api))])

    assert run(kc, "%config Claude.cache = 'off'").error is None
    assert run(kc, "%%claude\nAnd the index?\n").error is None
    assert "cache_control" not in posts(api)[-1].body


def test_models_lists_what_the_api_returns(api: Any, kc: Any) -> None:
    out = plain(run(kc, "%claude --models"))
    for model in api.models:
        assert model["id"] in out and model["display_name"] in out
        assert f"{model['max_input_tokens']:,}" in out
    assert "! claude-opus-4-1-20250805 is deprecated and retires on 2027-01-05" in out
    assert re.search(r"claude-opus-4-7 .* adaptive +low, medium, high, xhigh, max", out)
    api.models = []
    assert "has no Models API" in plain(run(kc, "%claude --models"))


def test_thinking_budget_on_adaptive_only_model_and_effort(api: Any, kc: Any) -> None:
    ex = run(kc, "%%claude -m claude-opus-4-7 --thinking 4000 --max-tokens 16000\nhi\n")
    assert ex.error is None
    assert posts(api)[-1].body["thinking"] == {"type": "adaptive"}
    assert "claude-opus-4-7 accepts only adaptive thinking" in shown(ex)
    assert run(kc, "%%claude --effort high --thinking adaptive\nhi\n").error is None
    assert posts(api)[-1].body["output_config"] == {"effort": "high"}
    assert posts(api)[-1].body["thinking"] == {"type": "adaptive"}
    ex = run(kc, "%%claude -m claude-haiku-4-5 --effort high\nhi\n")
    assert ex.error is not None and "claude-haiku-4-5 does not support effort" in shown(ex)
    assert posts(api)[-1].body.get("model") != "claude-haiku-4-5"  # never sent


def test_compaction_card_and_block_carried(api: Any, kc: Any) -> None:
    summary = "Earlier we loaded sales.csv and plotted monthly totals."
    api.enqueue(Turn([Compaction(summary), Text("March is the highest month.")]))
    ex = run(kc, "%%claude --compact\nWhich month is highest?\n")
    out = shown(ex)
    assert ex.error is None and "Earlier conversation summarized" in out and summary in out
    assert "unknown block type" not in out.lower()
    assert run(kc, "%%claude\nAre you sure?\n").error is None
    carried = posts(api)[-1].body["messages"][1]["content"][0]
    assert carried["type"] == "compaction" and carried["content"] == summary


def test_refusal_shows_its_explanation(api: Any, kc: Any) -> None:
    api.enqueue(Turn([Text("I can't help with that.")], stop_reason="refusal",
                     stop_details=refusal_details("cyber", "This could enable malware.")))
    out = shown(run(kc, "%%claude\nwrite ransomware\n"))
    assert "refused (cybersecurity): This could enable malware." in out


def test_config_defaults_for_thinking_effort_cache_compact() -> None:
    from IPython.core.interactiveshell import InteractiveShell

    shell = InteractiveShell.instance()
    try:
        shell.run_cell("%load_ext claude_nb")
        config = shell.magics_manager.registry["ClaudeMagics"].config_obj
        for line in ("Claude.thinking = 'adaptive'", "Claude.effort = 'low'",
                     "Claude.cache = '1h'", "Claude.compact = True"):
            shell.run_cell(f"%config {line}")
        options = config.options()
        assert (options.thinking, options.effort, options.cache, options.compact) == (
            "adaptive", "low", "1h", True)
        shell.run_cell("%config Claude.thinking = 3000")
        assert config.options().thinking == 3000
    finally:
        shell.run_cell("%unload_ext claude_nb")
        InteractiveShell.clear_instance()
