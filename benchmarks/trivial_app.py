"""The baselines for serving throughput: FastAPI endpoints returning 10 constant items.

uvicorn benchmarks.trivial_app:app --port 8001
"""

from fastapi import FastAPI
from pydantic import BaseModel


class Item(BaseModel):
    item_id: str
    score: float
    source: str


class Items(BaseModel):
    user_id: str
    items: list[Item]


ITEMS = [Item(item_id=f"i{n}", score=1.0 - n / 10, source="constant") for n in range(10)]

app = FastAPI()


@app.get("/recommendations/{user_id}", response_model=Items)
async def recommendations(user_id: str) -> Items:
    """The strict baseline: no thread hop, nothing to look up."""
    return Items(user_id=user_id, items=ITEMS)


@app.get("/sync/recommendations/{user_id}", response_model=Items)
def recommendations_sync(user_id: str) -> Items:
    """The same as a plain `def` endpoint, which FastAPI runs in a worker thread."""
    return Items(user_id=user_id, items=ITEMS)
