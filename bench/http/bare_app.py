"""The ceiling: a bare FastAPI endpoint that reads nothing and returns a constant."""

import inspect

from fastapi import FastAPI

# Configured as pdp's app is: FastAPI's native OpenTelemetry off (where this FastAPI has it).
app = FastAPI(**({"telemetry": {"tracing": False, "metrics": False, "logs": False}}
                 if "telemetry" in inspect.signature(FastAPI.__init__).parameters else {}))
CONSTANT = {"decision": "allow"}


@app.post("/const")
async def const():
    return CONSTANT
