"""Many prompts at once: `claude_nb.map` in parallel or through the Message Batches API.

A front end over the run layer: items.py (prompts in, results out), requests.py (one request
per item and its content key), store.py (the state file), job.py (state and tally),
parallel.py and batches.py (the two runners), cost.py (dollars), progress.py / summary.py
(what people see), results.py (`MapResult`), api.py (`map`).
"""

from .api import BATCH_ABOVE, map
from .items import ItemResult
from .results import MapResult

__all__ = ["BATCH_ABOVE", "ItemResult", "MapResult", "map"]
