"""Write the tutorial notebooks from the cell sources below, then run them on the demo backend.

    python notebooks/build.py                 # all notebooks, executed (outputs saved)
    python notebooks/build.py 03 05           # only these (by number or name)
    python notebooks/build.py --no-execute    # sources only, no outputs

Execution uses nbclient with the `python3` kernel (or `--kernel NAME`), with no
ANTHROPIC_API_KEY and CLAUDE_NB_BACKEND=demo, so the saved outputs are the labelled demo's.
Cells tagged `raises-exception` are meant to fail (an error shown on purpose); nbclient goes
on after them. `tests/test_notebooks.py` re-executes the notebooks and compares.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import Any

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

HERE = Path(__file__).resolve().parent

DEMO_NOTE = (
    "> **No API key?** Then every cell here runs on claude_nb's offline **demo backend**: "
    "scripted answers that say so in their first line and carry a *demo* badge in the footer. "
    "Set `ANTHROPIC_API_KEY` (or run `claude_nb.set_api_key()`) and the same cells talk to "
    "Claude.")


def md(text: str) -> Any:
    return new_markdown_cell(text.strip())


def code(text: str, *tags: str) -> Any:
    cell = new_code_cell(text.strip())
    if tags:
        cell.metadata["tags"] = list(tags)
    return cell


def intro(title: str, body: str) -> Any:
    return md(f"# {title}\n\n{body.strip()}\n\n{DEMO_NOTE}")


# ---------------------------------------------------------------- 01 quick start

QUICKSTART = [
    intro("01 · Quick start", """
Type `%%claude` at the top of a cell and the rest of the cell is your prompt. The answer
streams in as rendered Markdown, with a footer (tokens, time to first token, tokens/s) and a
**Stop** button while it runs. This notebook shows the magic, its options, multi-turn
conversations and how to keep a reply in a variable."""),
    code("%load_ext claude_nb"),
    md("""
Which backend answers? With a key in the environment it is the real API; without one it is
the offline demo. A key set later switches over without restarting the kernel."""),
    code("""
import claude_nb
from claude_nb.run.backend import resolve

print("real API" if not resolve().demo else "offline demo backend (no ANTHROPIC_API_KEY)")
# claude_nb.set_api_key()   # uncomment to type a key: not echoed, not saved in the notebook"""),
    md("## Ask"),
    code("""
%%claude
Explain the bias–variance trade-off with a small table."""),
    md("""
## Options

`-m` picks the model, `-s` sets a system prompt (it stays for the rest of the
conversation), `--max-tokens` caps the answer. `%%claude --help` lists them all; defaults
can be set with `%config Claude.model = "..."`."""),
    code("""
%%claude -m claude-haiku-4-5 -s "Answer briefly, with one code example." --max-tokens 400
What is a Python list comprehension? Show one example."""),
    md("""
## Multi-turn

Each `%%claude` cell continues the same conversation, so a follow-up can say "that". `--new`
starts afresh, and `%claude --history` shows what the conversation holds."""),
    code("""
%%claude
Now rewrite that example as a for loop."""),
    code("%claude --history"),
    md("""
## Keep the reply: `-o`

`-o NAME` stores the `Reply` in a variable: its text, usage, stop reason and timings."""),
    code("""
%%claude --new -o names
Give three names for a pet hedgehog."""),
    code("""
print(names.stop_reason, "·", names.usage.output_tokens, "output tokens")
print(f"first byte after {names.ttfb * 1000:.0f} ms, {names.tokens_per_second:.0f} tokens/s")
names.text.splitlines()[-3:]"""),
    md("""
## Notebook variables in prompts

`{name}` in a prompt is replaced by the variable's value (`{{` and `}}` for literal braces;
`--no-interpolate` turns it off)."""),
    code('country = "Japan"'),
    code("""
%%claude
What is the capital of {country}?"""),
    md("""
## Next

- [02 · Streaming](02-streaming.ipynb): what the event stream is, measured live
- [03 · Thinking](03-thinking.ipynb) · [04 · Tools](04-tools.ipynb) ·
  [05 · Chat widget](05-chat-widget.ipynb) · [06 · Stop and errors](06-stop-and-errors.ipynb) ·
  [07 · Python API](07-python-api.ipynb)"""),
]

# ---------------------------------------------------------------- 02 streaming

STREAMING = [
    intro("02 · Streaming", """
The Messages API streams an answer as server-sent events. In order:

| event | carries |
|---|---|
| `message_start` | the message id, the model, input token usage |
| `content_block_start` | a new block: `text`, `thinking`, `tool_use`, … with its index |
| `ping` | nothing (keeps the connection alive) |
| `content_block_delta` | a piece of the block: `text_delta`, `thinking_delta`, `input_json_delta`, … |
| `content_block_stop` | the block is complete |
| `message_delta` | the stop reason and the output token count |
| `message_stop` | the end |

This notebook logs those events live, measures time to first token and tokens per second,
and compares the SDK's own `messages.stream` helper with the magic."""),
    code("%load_ext claude_nb"),
    md("""
## A live event log, straight from the SDK

`resolve()` says where requests go: the real API when a key is set, otherwise the local
demo server (with a placeholder key)."""),
    code("""
import time
import anthropic
from claude_nb.run.backend import resolve

backend = resolve()
client = anthropic.Anthropic(base_url=backend.base_url, api_key=backend.api_key)
MODEL = "claude-sonnet-4-6"
PROMPT = [{"role": "user", "content": "Count from one to ten in words."}]"""),
    code("""
t0 = time.perf_counter()
first_token = None
stream = client.messages.create(model=MODEL, max_tokens=200, messages=PROMPT, stream=True)
for event in stream:
    t = time.perf_counter() - t0
    detail = ""
    if event.type == "message_start":
        detail = f"model={event.message.model}"
    elif event.type == "content_block_start":
        detail = event.content_block.type
    elif event.type == "content_block_delta":
        first_token = first_token or t
        detail = repr(event.delta.text)
    elif event.type == "message_delta":
        detail = f"stop_reason={event.delta.stop_reason} output_tokens={event.usage.output_tokens}"
        output_tokens = event.usage.output_tokens
    print(f"{t * 1000:7.1f} ms  {event.type:<20} {detail}")
total = time.perf_counter() - t0"""),
    md("""
Time to first token is when the first delta arrived; tokens per second counts the output
tokens over the time the deltas took (the demo backend's pace is scripted, so these numbers
only mean something with a key)."""),
    code("""
print(f"time to first token: {first_token * 1000:.0f} ms")
print(f"tokens/s while streaming: {output_tokens / (total - first_token):.0f}")"""),
    md("""
## The SDK's helper: `messages.stream`

It accumulates the events into a message for you and offers `text_stream`, the text
deltas only."""),
    code("""
with client.messages.stream(model=MODEL, max_tokens=200, messages=PROMPT) as stream:
    for text in stream.text_stream:
        print(text, end="", flush=True)
    final = stream.get_final_message()
print()
print(final.stop_reason, final.usage.output_tokens, "output tokens")"""),
    md("""
## The same request with the magic

`%%claude` consumes the same events, renders the Markdown as it streams, and measures the
timings for you: they are in the footer and on the `Reply` (`-o`)."""),
    code("""
%%claude -o counted
Count from one to ten in words."""),
    code("""
print(f"time to first byte {counted.ttfb * 1000:.0f} ms, "
      f"first token {counted.ttft * 1000:.0f} ms, {counted.tokens_per_second:.0f} tokens/s")"""),
]

# ---------------------------------------------------------------- 03 thinking

THINKING = [
    intro("03 · Extended thinking", """
With `--thinking BUDGET` the model first thinks in a `thinking` block (streamed, shown as a
collapsible card), then answers. The budget is in tokens: at least 1024 and below
`--max-tokens`."""),
    code("%load_ext claude_nb"),
    code("""
%%claude --thinking 2048 -o answer
Is 1001 a prime number? Think it through."""),
    md("""
The reply's message holds the thinking block, with a `signature`: the API checks it when
the block is sent back in later turns, so claude_nb keeps thinking blocks in the history
unchanged."""),
    code("""
for block in answer.message["content"]:
    words = (block.get("thinking") or block.get("text") or "").replace("\\n", " ")
    print(f"{block['type']:<9} signed={'signature' in block!s:<5} {words[:70]}…")"""),
    md("A follow-up with thinking, in the same conversation:"),
    code("""
%%claude --thinking 2048
What about 1003?"""),
    md("""
Without `--thinking` there is no thinking block. To think on every cell, set a default:
`%config Claude.thinking = 2048` (0 turns it off)."""),
    code("""
%%claude
Is 1009 prime?"""),
]

# ---------------------------------------------------------------- 04 tools

TOOLS = [
    intro("04 · Tools", """
`--tools f,g` offers Python functions from the notebook to the model. claude_nb builds each
tool's JSON schema from the function's signature and docstring, runs the loop (the model asks
for a call, the function runs in the kernel, the result goes back, the model answers) and
shows each call as a card with its input, status and result."""),
    code("""
%load_ext claude_nb
from claude_nb.demo.examples import calculator, lookup"""),
    md("What the model is told about `calculator`:"),
    code("""
from claude_nb import tool

tool(calculator).param()"""),
    code("""
%%claude --tools calculator
What is 17 * 23 + sqrt(144)?"""),
    md("""
## Several tools, parallel calls

The model may ask for several calls at once; they run concurrently."""),
    code("""
%%claude --tools calculator,lookup
How heavy is a gold atom compared with a silver atom?"""),
    md("""
## When a tool fails

An exception in a tool becomes an `is_error` result with the message, so the model can
correct itself."""),
    code("""
%%claude --tools calculator
What is 2 ^ 10?"""),
    md("""
## Your own function

Type hints become the schema, the docstring's `Args:` section the parameter descriptions."""),
    code('''
import random

def roll_dice(count: int, sides: int = 6) -> list[int]:
    """Roll dice and return the faces that came up.

    Args:
        count: How many dice to roll.
        sides: Faces per die.
    """
    return [random.randint(1, sides) for _ in range(count)]'''),
    code("""
%%claude --tools roll_dice
Roll 3 dice with 6 sides."""),
    md("""
## Web search

`--web-search` enables the API's server-side search tool: the search runs on Anthropic's
side, results arrive as a card, and the answer cites its sources. (The demo backend can't
search: its results and citations are placeholders on example domains.)"""),
    code("""
%%claude --web-search
What's new in Python 3.13?"""),
]

# ---------------------------------------------------------------- 05 chat widget

CHAT = [
    intro("05 · The chat widget", """
`Chat()` is a chat box in the notebook: type, press Enter, and the answer streams in with
the same cards as `%%claude`. **Stop** closes the stream, ↻ regenerates the last answer,
**New** starts over, **Export** downloads the conversation as Markdown or JSON. Replies run as
tasks on the kernel's event loop, so the kernel stays free while one streams (Stop works, and
other cells can run)."""),
    code("""
import asyncio
from claude_nb import Chat
from claude_nb.demo.examples import calculator

chat = Chat(tools=[calculator], system="Be brief.")
chat"""),
    md("""
Type into the box above, or send from code: `chat.send(text)` returns the `Reply`, which
streams into the widget. (A small helper waits for it here, so this notebook can be run top
to bottom.)"""),
    code("""
async def finished(reply):
    while reply.status in ("pending", "running"):
        await asyncio.sleep(0.05)
    return reply

reply = await finished(chat.send("Hello! What can you do?"))
print(reply.status, "·", reply.usage.output_tokens, "output tokens")"""),
    code("""
reply = await finished(chat.send("Use the calculator: what is 2 ** 32?"))
print(reply.text)"""),
    md("""
The widget and its conversation live in the kernel. Displaying the chat again opens a
second view of the same widget, kept in sync; a saved notebook shows the conversation as it
was when the output was made."""),
    code("chat"),
    md("The history is an ordinary `Conversation`, valid to send to the API as it is:"),
    code("[(m['role'], [b['type'] for b in m['content']]) for m in chat.conversation.messages]"),
]

# ---------------------------------------------------------------- 06 stop and errors

STOP = [
    intro("06 · Stop, interrupt and errors", """
**Stop** really closes the HTTP stream: the partial answer stays on screen and in the
history, and the conversation stays valid for the next prompt. Kernel interrupt does the
same and also stops "Run All". Errors show as one card, not a traceback."""),
    code("""
%load_ext claude_nb
import asyncio
from claude_nb import Conversation"""),
    md("""
## Stop

Run the next cell and press **Stop** (or Esc with the focus in the answer) while it
streams. The cell then ends normally, and the footer says *stopped*."""),
    code("""
%%claude
Tell me a long story about a lighthouse keeper."""),
    md("""
From code, `reply.stop()` is the same button: here it is pressed one second in."""),
    code("""
conv = Conversation()
reply = conv.send("Tell me a long story about a lighthouse keeper.")
asyncio.get_running_loop().call_later(1.0, reply.stop)
await reply
print(reply.status, "·", len(reply.text), "characters kept")
print("…" + reply.text[-160:])"""),
    md("The conversation is still valid, so the next prompt just works:"),
    code("""
follow_up = await conv.send("Thanks! What is the capital of Kenya?")
print([m["role"] for m in conv.messages])
print(follow_up.text)"""),
    md("""
## Interrupt

**Kernel ▸ Interrupt** (■ in the toolbar, or `I I`) closes the stream the same way, keeps the
partial answer, then raises `KeyboardInterrupt` so that "Run All" stops there. So that this
notebook can show it when run top to bottom, the first cell below sends the kernel the same
signal ■ sends, one second later, while the second cell streams. (The second cell is tagged
`raises-exception`, which tells notebook runners to go on after its error.)"""),
    code("""
import os, signal, threading

threading.Timer(1.0, os.kill, (os.getpid(), signal.SIGINT)).start()"""),
    code("""
%%claude
Tell me a long story about a lighthouse keeper.""", "raises-exception"),
    md("""
## Errors

An error ends the cell with an error card and one short line instead of a traceback, and
"Run All" stops there, as for any failing cell. The demo backend produces each kind of error
on request: prompts that say *simulate*. This one breaks off in the middle of the stream,
as an overloaded API does (tagged `raises-exception` too):"""),
    code("""
%%claude
Simulate an overloaded error in the middle of the answer.""", "raises-exception"),
    md("""
Rate limits (429) and overloaded or failing servers (529, 5xx) are retried, with a notice and
a capped wait (`%config Claude.max_retries`, `Claude.retry_cap`). The demo answers this prompt
with a 429 once, then lets the retry through:"""),
    code("""
%%claude
Simulate a rate limit."""),
    md("""
From code, an error is a value: `reply.error` (the `Reply` never raises for API errors).
Every kind, without retries and with a short read timeout:"""),
    code("""
from IPython.display import Markdown

prompts = {
    "mid-stream error": "Simulate an overloaded error in the middle of the answer.",
    "HTTP 529": "Simulate an HTTP 529.",
    "HTTP 429": "Simulate a rate limit.",
    "HTTP 401": "Simulate an authentication error.",
    "HTTP 400": "Simulate an invalid request.",
    "HTTP 500": "Simulate a server error.",
    "dropped connection": "Simulate a dropped connection.",
    "stalled stream": "Simulate a stalled stream.",
}
rows = ["| case | error | title | kept text |", "|---|---|---|---|"]
for case, prompt in prompts.items():
    reply = await Conversation(max_retries=0, read_timeout=1.5).send(prompt)
    error = reply.error
    rows.append(f"| {case} | `{type(error).__name__}` | {error.title} | {len(reply.text)} chars |")
Markdown("\\n".join(rows))"""),
]

# ---------------------------------------------------------------- 07 python api

PYTHON_API = [
    intro("07 · The Python API", """
Everything the magic and the widget do is a thin layer over `Conversation`: use it from
code, in a notebook or a plain script. `conv.send(prompt)` returns a `Reply` and runs nothing
yet; then `reply.wait()` (sync), `await reply` (async), or iterate it for events."""),
    code("""
from claude_nb import Conversation

conv = Conversation(system="Be brief.")
reply = conv.send("What is the capital of France?")   # nothing has run yet
reply.wait()                                          # sync: runs to the end
print(reply.text)
print(reply.status, reply.stop_reason, reply.usage.output_tokens, "output tokens")"""),
    md("""
## Events as they arrive

Iterating a reply yields claude_nb's own event values, in order (text deltas, block starts
and ends, tool status, the end). In a script, Ctrl-C while iterating closes the stream
cleanly."""),
    code("""
from claude_nb.protocol.changes import BlockDelta

for event in conv.send("And the capital of Japan?"):
    if isinstance(event, BlockDelta) and event.kind == "text":
        print(event.text, end="")"""),
    md("## Async"),
    code("""
reply = await conv.send("What is the capital of Peru?")
print(reply.text.splitlines()[-1])"""),
    code("""
from collections import Counter

counts = Counter()
async for event in conv.send("What is the capital of Kenya?"):
    counts[type(event).__name__] += 1
counts"""),
    md("Independent conversations run concurrently:"),
    code("""
import asyncio, time

countries = ["Italy", "Spain", "Egypt", "India"]
t0 = time.perf_counter()
replies = await asyncio.gather(*(Conversation().send(f"What is the capital of {c}?")
                                 for c in countries))
print(f"{len(replies)} answers in {time.perf_counter() - t0:.1f} s")
for r in replies:
    print(r.text.splitlines()[-1])"""),
    md("""
## Tools from code

`tools=` takes plain functions (or `@tool`-decorated ones); the tool loop runs inside
`send`."""),
    code("""
from claude_nb.demo.examples import calculator

reply = Conversation(tools=[calculator]).send("What is 17 * 23 + sqrt(144)?").wait()
for outcome in reply.tool_outcomes.values():
    print("tool result:", outcome.content)
print(reply.text.splitlines()[-3])"""),
    md("""
## The history

`conv.messages` is the conversation in the API's own format; `conv.reset()` forgets it."""),
    code("""
print([m["role"] for m in conv.messages])
conv.reset()
print(len(conv.messages))"""),
]

# ---------------------------------------------------------------- 08 notebook context

CONTEXT = [
    intro("08 · Claude sees the notebook", """
`{name}` in a prompt sends the variable rendered for its type: a DataFrame as its shape,
column types, null counts and a few rows; a figure as an image; an exception with its
traceback. `--error` / `--fix` attach the last failing cell, `--cells N` the cells above.
A collapsed **Context** card above each answer lists exactly what was sent, its size, what
was cut to fit the budget and what was redacted."""),
    code("%load_ext claude_nb"),
    md("""
## A DataFrame

A large frame is never sent whole: `{df}` becomes a summary of a few KB, whatever its length.
Open the *Context* card to see the item and its size."""),
    code("""
import numpy as np
import pandas as pd

rng = np.random.default_rng(0)
df = pd.DataFrame({
    "station": rng.choice(["Oslo", "Lima", "Pune"], 100_000),
    "temp_c": rng.normal(15, 8, 100_000).round(1),
    "rain_mm": rng.gamma(0.6, 3, 100_000).round(1),
})
df.loc[rng.choice(100_000, 250, replace=False), "rain_mm"] = np.nan
df.shape"""),
    code("""
%%claude
Which columns of {df} have missing values, and what should I check first?"""),
    md("""
## A figure

`{fig}` (a matplotlib Figure or Axes, a PIL image, `IPython.display.Image`, PNG/JPEG bytes)
is sent as an **image block**: the model sees the pixels, not `<Figure size 640x480>`."""),
    code("""
import matplotlib.pyplot as plt

fig, ax = plt.subplots(figsize=(6, 3))
df.groupby("station")["temp_c"].mean().plot.bar(ax=ax, title="Mean temperature (°C)")
plt.close(fig)"""),
    code("""
%%claude
What does {fig} show? Is anything wrong with the axes?"""),
    md("""
## Fixing an error

A failing cell gets an **Ask Claude** button under its traceback (after `%load_ext`;
`%config Claude.error_button = False` turns it off). From a cell, `%%claude --error` attaches
the failing cell, the exception and the traceback to your question; `%claude --fix` asks for
the cause and a corrected cell, which it then inserts as a new cell below (not run: read it,
then run it). In Colab or a plain terminal, copy it from the answer."""),
    code("""
rainy = df[df["rain_mm"] > 100]
days = len(rainy)
mean_rain = float(rainy["rain_mm"].sum()) / days""", "raises-exception"),
    code("%claude --fix"),
    md("""
## What is sent, and what is not

`--count` shows the same card with the API's token count, without sending. A `{…}` that is
not a variable, such as `{df.describe()}`, is sent as written (nothing is evaluated) and the
card flags it. Values of variables named like keys, tokens, secrets or passwords, and strings
shaped like API keys or tokens, are replaced by a visible `[redacted …]` mark; environment
variables are never read. `Claude.context_budget` (tokens) caps the context: the largest items
are cut first, and the card says so."""),
    code("""
service_token = "not-a-real-token-but-named-like-one"
settings = {"region": "eu-north-1", "aws_key": "AKIAIOSFODNN7EXAMPLE"}"""),
    code("""
%%claude --cells 2 --count
Summarise {df}, {settings} and {service_token}; also {df.describe()}"""),
]


# ---------------------------------------------------------------- 09 many prompts

MANY = [
    intro("09 · Many prompts at once", """
`claude_nb.map(prompt, items)` runs one prompt over every item of a list, a pandas Series or
a DataFrame: in parallel (many requests at once, slowing down politely when rate limited) or
through the **Message Batches API** (half the price, results within 24 hours). Results come
back in input order, with text, parsed data, tokens, cost and an error per item. Every
answer is kept in a state file, so running a cell again sends only what is missing, and an
interrupted batch is picked up instead of paid for twice."""),
    md("""
A small dataset made right here: short product reviews (invented for this tutorial)."""),
    code("""
import tempfile
from pathlib import Path

import pandas as pd

import claude_nb

reviews = pd.DataFrame({
    "product": ["kettle", "desk lamp", "office chair", "headphones", "backpack", "blender"],
    "review": [
        "Boils water fast, but the lid sticks and it clicks loudly.",
        "Too dim to read by, and the switch broke after a week.",
        "Comfortable for long days, sturdy, and easy to assemble. Worth it.",
        "Great sound; the ear cushions get warm after an hour.",
        "Lots of pockets, survived a rainy hike, zips still smooth.",
        "Loud, and it leaked from the base the first time I used it.",
    ],
}, index=pd.Index([101, 102, 103, 104, 105, 106], name="review_id"))
# The state file: normally leave `cache` out and it goes to .claude_nb/ beside the notebook.
state = Path(tempfile.mkdtemp()) / "reviews.map.jsonl"
reviews"""),
    md("""
## A template over columns

`{column}` names are filled from each row (for a list or Series, `{x}` is the item). Other
braces stay as written, so a JSON example in a prompt needs no escaping. While it runs, the
cell shows live progress (done, failed, in flight, queued, tokens, cost, rate, ETA) and a
**Stop** button; afterwards a summary stays in the saved notebook."""),
    code("""
summaries = claude_nb.map("Summarise this review of a {product} in one short line: {review}",
                          reviews, system="You are a concise product analyst.",
                          concurrency=8, cache=state)
summaries"""),
    md("""
Each item has `.text`, `.data`, `.usage`, `.cost`, `.status` and `.error`; `to_pandas()`
gives a DataFrame with the input's index, ready to join."""),
    code("""
reviews.join(summaries.to_pandas()[["text", "output_tokens", "status"]])"""),
    md("""
## Structured output

With `schema=` (a pydantic model, or a JSON schema) every answer is parsed and validated:
`.data` holds model instances. An answer that does not match is an error, and its text is
kept so you can see what came back."""),
    code("""
import pydantic

class Verdict(pydantic.BaseModel):
    sentiment: str
    score: int  # 1 (bad) to 5 (great)
    main_issue: str | None = None

verdicts = claude_nb.map("Rate this {product} review: {review}", reviews, schema=Verdict,
                         cache=state)
pd.DataFrame([v.model_dump() if v else {} for v in verdicts.data], index=reviews.index)"""),
    code("""
verdicts.errors  # items whose answer failed or did not match the schema (text kept)"""),
    md("""
## Run it again: only what is missing is sent

Answers are stored by the content of their request (model, system, schema, prompt), so
adding rows, or editing one prompt, sends only the new requests; the rest comes from the
state file (the summary says how many)."""),
    code("""
more = pd.concat([reviews, pd.DataFrame(
    {"product": ["toaster"], "review": ["Even browning, but the crumb tray is hard to reach."]},
    index=pd.Index([107], name="review_id"))])
again = claude_nb.map("Summarise this review of a {product} in one short line: {review}",
                      more, system="You are a concise product analyst.", cache=state)
print(again)"""),
    md("""
## A function as the prompt, a list as the items"""),
    code("""
words = ["serendipity", "petrichor", "sonder"]
defs = claude_nb.map(lambda w: f"Define '{w}' in at most eight words.", words, cache=state)
[(w, d.text[:60]) for w, d in zip(words, defs)]"""),
    md("""
## Batch mode: half the price, for jobs that can wait

`batch=True` sends everything through the Message Batches API (split over its limits of
100,000 requests / 256 MB per batch), polls with a growing interval and decodes the results.
The batch ids are written to the state file *before* waiting. Interrupt the kernel (or press
**Stop waiting**) and the batch keeps running at the API; run the same cell again, even
after a restart or on another day, and it is picked up, not submitted again. `.cancel()` on
the result (or **Cancel batch** in the widget) cancels it instead. `batch=None` chooses
batch mode by itself above `claude_nb.bulk.BATCH_ABOVE` missing items."""),
    code("""
labels = claude_nb.map("One word for the mood of this review: {review}", reviews, batch=True,
                       cache=state)
print(labels.batch_ids)
labels.to_pandas()[["text", "status", "cost"]]"""),
    md("""
## In async code

Called from a coroutine (an `async def`, or a cell that uses `await`), `map` returns the
pending result to `await`; the kernel stays responsive while it runs."""),
    code("""
result = await claude_nb.map("Translate to French: {x}", ["good morning", "thank you"],
                             cache=state)
[text[:70] for text in result.texts]"""),
]


NOTEBOOKS: dict[str, list[Any]] = {
    "01-quickstart": QUICKSTART,
    "02-streaming": STREAMING,
    "03-thinking": THINKING,
    "04-tools": TOOLS,
    "05-chat-widget": CHAT,
    "06-stop-and-errors": STOP,
    "07-python-api": PYTHON_API,
    "08-notebook-context": CONTEXT,
    "09-many-prompts": MANY,
}


def notebook(cells: list[Any]) -> Any:
    nb = new_notebook(cells=[nbformat.from_dict(c) for c in cells])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3 (ipykernel)",
                                 "language": "python"}
    nb.metadata["language_info"] = {"name": "python"}
    return nb


def demo_env() -> None:
    """The environment the kernel inherits: no key, the demo backend forced."""
    for name in ("ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN", "ANTHROPIC_BASE_URL"):
        os.environ.pop(name, None)
    os.environ["CLAUDE_NB_BACKEND"] = "demo"


def execute(nb: Any, kernel: str, timeout: int = 120) -> Any:
    from nbclient import NotebookClient

    client = NotebookClient(nb, timeout=timeout, kernel_name=kernel, record_timing=False,
                            store_widget_state=False,
                            resources={"metadata": {"path": str(HERE)}})
    client.execute()
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = coalesce_streams(cell.outputs)
            for out in cell.outputs:  # no builder's paths in saved tracebacks
                if out.get("output_type") == "error":
                    out["traceback"] = [line.replace(f"{HERE.parent}/", "")
                                        for line in out["traceback"]]
    return nb


def coalesce_streams(outputs: list[Any]) -> list[Any]:
    """Join consecutive stream outputs of the same name (as they print, they arrive in parts)."""
    out: list[Any] = []
    for o in outputs:
        if (o.get("output_type") == "stream" and out and out[-1].get("output_type") == "stream"
                and out[-1].get("name") == o.get("name")):
            out[-1]["text"] += o["text"]
        else:
            out.append(o)
    return out


def update_binder_badge() -> None:
    """The README's Binder badge from the git remote: `binder/badge.py` is its one place."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("binder_badge", HERE.parent / "binder" / "badge.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.main([])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("only", nargs="*", help="notebook numbers or names (default: all)")
    parser.add_argument("--no-execute", action="store_true", help="write sources only")
    parser.add_argument("--kernel", default="python3", help="kernel to execute with")
    args = parser.parse_args(argv)
    demo_env()
    chosen = [n for n in NOTEBOOKS if not args.only or any(n.startswith(o) for o in args.only)]
    update_binder_badge()
    for name in chosen:
        nb = notebook(NOTEBOOKS[name])
        started = time.perf_counter()
        if not args.no_execute:
            execute(nb, args.kernel)
        nbformat.validate(nb)
        nbformat.write(nb, HERE / f"{name}.ipynb")
        print(f"{name}.ipynb  {len(nb.cells)} cells  {time.perf_counter() - started:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
