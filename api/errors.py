"""Exception handlers: every error is a short JSON message naming the problem, never a stack trace."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from kg.errors import (
    PatientInputError,
    QueryRejectedError,
    QueryTimeoutError,
    ReasonerUnavailableError,
    StoreError,
)

log = logging.getLogger("therapy-kg.api")


def problem(status: int, message: str, **extra) -> JSONResponse:
    return JSONResponse(status_code=status, content={"detail": message, **extra})


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(PatientInputError)
    async def _patient_input(_: Request, exc: PatientInputError) -> JSONResponse:
        return problem(422, str(exc), field=exc.field)

    @app.exception_handler(QueryRejectedError)
    async def _rejected(_: Request, exc: QueryRejectedError) -> JSONResponse:
        return problem(400, str(exc))

    @app.exception_handler(QueryTimeoutError)
    async def _timeout(_: Request, exc: QueryTimeoutError) -> JSONResponse:
        return problem(503, str(exc))

    @app.exception_handler(ReasonerUnavailableError)
    async def _reasoner(_: Request, exc: ReasonerUnavailableError) -> JSONResponse:
        return problem(503, f"the DL reasoner is unavailable: {exc}")

    @app.exception_handler(StoreError)
    async def _store(_: Request, exc: StoreError) -> JSONResponse:
        log.warning("store error: %s", type(exc).__name__)
        return problem(502, "the graph store failed to answer")

    @app.exception_handler(Exception)
    async def _unexpected(_: Request, exc: Exception) -> JSONResponse:
        log.error("unexpected %s", type(exc).__name__)  # no message: it may carry patient data
        return problem(500, "internal error")
