"""The ceiling: a bare FastAPI endpoint that reads nothing and returns a constant."""

from fastapi import FastAPI

app = FastAPI()
CONSTANT = {"decision": "allow"}


@app.post("/const")
async def const():
    return CONSTANT
