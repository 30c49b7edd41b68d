"""The demo backend's scripted content: tutorial answers and the notes it gives.

Data only (the rules that pick them are in `rules.py`): every answer built from these is
prefixed with `DEMO_LABEL` and streamed under the model name `DEMO_MODEL`.
"""

DEMO_MODEL = "demo (offline)"
DEMO_LABEL = "_Offline demo: a scripted answer from claude_nb, not Claude._"

KEY_HOWTO = (
    "To talk to Claude, set a key (no restart needed), then ask again:\n\n"
    "- in the chat widget: its **API key…** button (the key goes to the kernel once and is "
    "not saved in the notebook);\n"
    "- `claude_nb.set_api_key()` in a cell (a password prompt; not saved either), or\n"
    "- `export ANTHROPIC_API_KEY=sk-ant-...` before starting Jupyter.\n")

GENERIC_THINKING = ("(Scripted demo thinking, not a model's.) The request enabled extended "
                    "thinking, so the demo backend streams this block first, with a "
                    "signature, the way the API does. Then the answer.")

BIAS_VARIANCE = """\
The **bias–variance trade-off** names the two ways a model can miss:

| | high bias (underfitting) | high variance (overfitting) |
|---|---|---|
| training error | high | low |
| test error | high | high |
| typical cause | model too simple | model too flexible for the data |
| usual remedy | richer model, more features | more data, regularisation, simpler model |

The expected test error splits into **bias² + variance + noise**: making a model more
flexible lowers bias but raises variance, so the best model sits in between. A quick way to
see it is to fit polynomials of growing degree:

```python
import numpy as np

rng = np.random.default_rng(0)
x = np.linspace(0, 1, 30)
y = np.sin(2 * np.pi * x) + rng.normal(0, 0.2, x.size)
for degree in (1, 4, 12):          # 1 underfits, 12 overfits
    coeffs = np.polyfit(x, y, degree)
    print(degree, np.mean((np.polyval(coeffs, x) - y) ** 2))
```
"""

COMPREHENSION = """\
A **list comprehension** builds a list from an iterable in one expression:
`[expression for item in iterable if condition]`.

```python
squares = [n * n for n in range(10) if n % 2 == 0]
print(squares)  # [0, 4, 16, 36, 64]
```
"""

FOR_LOOP = """\
Following up on the previous turn (this request carried the whole conversation, {n} user
messages so far), here is the same example as a plain `for` loop:

```python
squares = []
for n in range(10):
    if n % 2 == 0:
        squares.append(n * n)
print(squares)  # [0, 4, 16, 36, 64]
```

The comprehension is shorter; the loop is easier to extend with more steps.
"""

HEDGEHOG = """\
Three names for a pet hedgehog:

1. **Sonic**: the obvious classic.
2. **Pokey**: honest about the quills.
3. **Mrs. Tiggy-Winkle**: after Beatrix Potter's washerwoman hedgehog.
"""

COUNT = "One, two, three, four, five, six, seven, eight, nine, ten."

STORY = """\
## The keeper of Gull Rock

Every evening at dusk, Maren climbed the hundred and twelve steps of the Gull Rock lighthouse,
counting them out loud the way her grandfather had taught her. At the top she wound the clock
that turned the lens, trimmed the wick, and wrote the weather in a book that nobody else read.

The ships never knew her name. They saw only the light: one long flash, two short, every
twenty seconds, the signature of Gull Rock written on the dark. Fishermen set their courses by
it, and the ferry captain raised his cap to it out of habit, even on the nights he could see
nothing else.

One November the storm came in sideways. The rain hit the glass so hard that the light seemed
to bend, and the wind found every crack in the old tower. Near midnight the clockwork jammed.
The lens stopped turning, and the light became a steady stare instead of a signal, which to a
ship in the storm meant *nothing* — or worse, the wrong rock.

Maren wedged her lantern between two gears and turned the lens by hand. One long, two short.
She counted under her breath, the way she counted the stairs, and kept counting while her arms
burned and the storm went on. At four in the morning the wind dropped. At six the sky went
grey, then silver, and she saw the ferry rounding the point, its deck lights still on, safe.

She never told anyone. In the weather book she wrote only: *Wind NW, gale. Clock jammed 23:50,
turned by hand. Visibility poor. All ships passed.* The next morning she oiled the gears,
fixed the spring, and climbed down the hundred and twelve steps to make her tea.

Years later a new keeper found the book and read that line, and understood what it meant.
He added one under it, in his own hand: *Thank you.*
"""

GREETING = """\
Hello! This is the **offline demo backend** answering, not Claude. It can show you how
claude_nb works — streaming Markdown, thinking and tool cards, the footer with tokens and
timings, and the **Stop** button — but its answers are scripted.

Try asking it to *use the calculator: what is 2 ** 32?* (when the chat has the `calculator`
tool), or to *explain the bias–variance trade-off with a small table*.
"""

CAPITALS = {"france": "Paris", "japan": "Tokyo", "kenya": "Nairobi", "peru": "Lima",
            "canada": "Ottawa", "italy": "Rome", "germany": "Berlin", "spain": "Madrid",
            "australia": "Canberra", "brazil": "Brasília", "india": "New Delhi",
            "egypt": "Cairo"}
