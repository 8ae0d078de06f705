"""The plain baseline of bench/load.py: a Flask app under gunicorn with the gateway's
``gunicorn_conf.py`` (same workers and threads) that runs the SAME domain code on the same
kind of database, without the bus, the gateway's token check or the outbox relay.

* ``POST /accounts/<id>/readings``: readings' own ``Readings.submit`` (every rule check, the
  earlier readings of the period marked replaced, the insert, the commit) on a database made
  by readings' migrations holding a copy of the stack's meters. The event is built (as the
  domain records it) and counts as published at the commit: no outbox row, no relay.
* ``GET /me``: the gateway's own token check (``shared.tokens.verify_access_token``) and the
  user's row by id from the stack's auth database: what ``GET /api/v1/auth/me`` does without
  the RPC hop.

gunicorn imports ``bench.load_baseline:app()``; the settings come from the environment (the
stack's), the readings database from ``BENCH_BASELINE_DB``.
"""
from __future__ import annotations

import os
from datetime import datetime, timezone
from typing import Any

from shared import settings


def app() -> Any:
    from flask import Flask, jsonify, request
    from sqlalchemy import select
    from sqlalchemy.orm import Session

    from services.auth.models import User
    from services.readings.domain.submissions import Readings
    from shared.db import make_engine
    from shared.errors import DomainError
    from shared.events import make_envelope
    from shared.tokens import verification_key, verify_access_token
    from shared.work import Work

    config = settings.load()
    pool = (config["DB_POOL_SIZE"], config["DB_MAX_OVERFLOW"])
    readings_db = make_engine(os.environ["BENCH_BASELINE_DB"], *pool)
    auth_db = make_engine(settings.database_url(config, "auth"), *pool)
    public_key = verification_key(config)
    flask_app = Flask("baseline")

    def refused(exc: DomainError) -> Any:
        return jsonify({"error": {"code": exc.code, "message": exc.message,
                                  "fields": exc.fields}}), exc.status

    @flask_app.post("/accounts/<int:account_id>/readings")
    def submit(account_id: int) -> Any:
        body = request.get_json(silent=True) or {}
        now = datetime.now(timezone.utc)
        with Session(readings_db) as session:
            work = Work(db=session, config=config, now=now,
                        record=lambda kind, payload: make_envelope("readings", kind, payload,
                                                                   now))
            try:
                answer = Readings(work).submit(None, account_id, body.get("meter_serial"),
                                               body.get("values"), body.get("confirm", False))
                session.commit()  # as readings' submit does (the domain code leaves it)
            except DomainError as exc:
                return refused(exc)
        return jsonify(answer), 201

    @flask_app.get("/me")
    def me() -> Any:
        _, _, token = request.headers.get("Authorization", "").partition(" ")
        try:
            principal = verify_access_token(token, public_key, config["JWT_ISSUER"],
                                            datetime.now(timezone.utc))
        except DomainError as exc:
            return refused(exc)
        with Session(auth_db) as session:
            user = session.scalar(select(User).where(User.id == principal.user_id))
        if user is None or user.deleted_at is not None:
            return jsonify({"error": {"code": "unauthorized"}}), 401
        return jsonify({"id": user.id, "phone": user.phone, "email": user.email,
                        "role": user.role, "created_at": user.created_at.isoformat()})

    @flask_app.get("/healthz")
    def healthz() -> Any:
        return jsonify({"ok": True})

    return flask_app
