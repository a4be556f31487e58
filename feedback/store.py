"""The experience store: interactions, their verdicts, and expert versions in SQLite (WAL).

Every ``record`` is one transaction, committed (``synchronous=FULL``) before it returns: whatever the
caller acknowledges is on disk. Motions are stored as their token codes (JSON), never pickled.
"""
from __future__ import annotations

import json
import sqlite3
import time
from dataclasses import dataclass, field
from pathlib import Path

SCHEMA = """
CREATE TABLE IF NOT EXISTS interactions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    episode TEXT NOT NULL, step INTEGER NOT NULL, scenario TEXT NOT NULL,
    utterance TEXT NOT NULL, response_text TEXT NOT NULL, intended_emotion TEXT,
    experts TEXT NOT NULL, codes TEXT, latency_ms TEXT NOT NULL, created REAL NOT NULL, context TEXT,
    UNIQUE (episode, step)
);
CREATE TABLE IF NOT EXISTS verdicts (
    interaction_id INTEGER PRIMARY KEY REFERENCES interactions(id),
    success INTEGER NOT NULL, physical_ok INTEGER NOT NULL, emotion_ok INTEGER NOT NULL,
    semantic_ok INTEGER NOT NULL, novel INTEGER NOT NULL, reason TEXT NOT NULL, details TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS experts (
    name TEXT NOT NULL, version INTEGER NOT NULL, path TEXT NOT NULL, status TEXT NOT NULL,
    metrics TEXT NOT NULL, created REAL NOT NULL, PRIMARY KEY (name, version)
);
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY AUTOINCREMENT, episode TEXT NOT NULL, event TEXT NOT NULL, data TEXT NOT NULL, created REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS verdicts_by_scenario ON interactions (scenario, id);
"""
EXPERT_STATUSES = ("training", "candidate", "published", "rolled_back", "failed")


@dataclass
class Interaction:
    episode: str
    step: int
    scenario: str
    utterance: str
    response_text: str
    intended_emotion: str | None
    experts: dict[str, float] = field(default_factory=dict)  # gate weights used
    codes: list[int] | None = None
    latency_ms: dict[str, float] = field(default_factory=dict)  # per stage
    context: dict = field(default_factory=dict)  # what the loop knew when serving it (phase, perception, random state)


@dataclass
class Verdict:
    success: bool
    physical_ok: bool
    emotion_ok: bool
    semantic_ok: bool
    novel: bool
    reason: str  # "ok" or the first failed judge
    details: dict = field(default_factory=dict)


class ExperienceStore:
    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(str(self.path), timeout=30.0, isolation_level=None)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=FULL")
        self.db.executescript(SCHEMA)
        if "context" not in {r[1] for r in self.db.execute("PRAGMA table_info(interactions)")}:  # a store of an older version
            self.db.execute("ALTER TABLE interactions ADD COLUMN context TEXT")

    def close(self) -> None:
        self.db.close()

    def record(self, interaction: Interaction, verdict: Verdict) -> int:
        """Store one interaction with its verdict atomically; returns its id once committed. Recording the
        same (episode, step) twice (a retried call) returns the existing id and changes nothing."""
        i = interaction
        row = self.db.execute("SELECT id FROM interactions WHERE episode = ? AND step = ?", (i.episode, i.step)).fetchone()
        if row:
            return int(row[0])
        with self.db:  # BEGIN ... COMMIT, rolled back on error
            self.db.execute("BEGIN IMMEDIATE")
            cur = self.db.execute(
                "INSERT INTO interactions (episode, step, scenario, utterance, response_text, intended_emotion, experts, codes,"
                " latency_ms, created, context) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (i.episode, i.step, i.scenario, i.utterance, i.response_text, i.intended_emotion, json.dumps(i.experts),
                 json.dumps([int(c) for c in i.codes]) if i.codes is not None else None, json.dumps(i.latency_ms), time.time(),
                 json.dumps(i.context)))
            v = verdict
            self.db.execute("INSERT INTO verdicts VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                            (cur.lastrowid, int(v.success), int(v.physical_ok), int(v.emotion_ok), int(v.semantic_ok),
                             int(v.novel), v.reason, json.dumps(v.details)))
        return int(cur.lastrowid)

    def counts(self) -> dict[str, int]:
        return {"interactions": self.db.execute("SELECT COUNT(*) FROM interactions").fetchone()[0],
                "verdicts": self.db.execute("SELECT COUNT(*) FROM verdicts").fetchone()[0]}

    def recent(self, scenario: str, window: int) -> list[dict]:
        """The last ``window`` verdicts of a scenario, newest first."""
        rows = self.db.execute(
            "SELECT i.id, v.success, v.physical_ok, v.emotion_ok, v.reason FROM interactions i JOIN verdicts v"
            " ON v.interaction_id = i.id WHERE i.scenario = ? ORDER BY i.id DESC LIMIT ?", (scenario, window)).fetchall()
        return [{"id": r[0], "success": bool(r[1]), "physical_ok": bool(r[2]), "emotion_ok": bool(r[3]), "reason": r[4]} for r in rows]

    def failures_since(self, scenario: str, after_id: int = 0) -> int:
        return self.db.execute("SELECT COUNT(*) FROM interactions i JOIN verdicts v ON v.interaction_id = i.id"
                               " WHERE i.scenario = ? AND i.id > ? AND v.success = 0", (scenario, after_id)).fetchone()[0]

    def successful_codes(self, scenario: str, limit: int = 256) -> list[tuple[str, list[int], str | None]]:
        """(response text, codes, intended emotion) of self-generated motions that passed every judge: extra
        training data."""
        rows = self.db.execute("SELECT i.response_text, i.codes, i.intended_emotion FROM interactions i JOIN verdicts v"
                               " ON v.interaction_id = i.id WHERE i.scenario = ? AND v.success = 1 AND i.codes IS NOT NULL"
                               " ORDER BY i.id DESC LIMIT ?", (scenario, limit)).fetchall()
        return [(t, json.loads(c), e) for t, c, e in rows]

    def codes(self, interaction_id: int) -> list[int] | None:
        """The motion tokens of one stored interaction (None when it produced none)."""
        row = self.db.execute("SELECT codes FROM interactions WHERE id = ?", (interaction_id,)).fetchone()
        return json.loads(row[0]) if row and row[0] else None

    def last_id(self) -> int:
        return int(self.db.execute("SELECT COALESCE(MAX(id), 0) FROM interactions").fetchone()[0])

    def add_expert(self, name: str, path: str, status: str = "training", metrics: dict | None = None,
                   event: tuple[str, dict] | None = None) -> int:
        """A new version of expert ``name``; returns the version number. Registering the same path again (a
        retried call) returns the existing version. ``event`` (episode, event dict; its ``version`` is filled
        in) is committed in the same transaction."""
        if status not in EXPERT_STATUSES:
            raise ValueError(f"expert status must be one of {EXPERT_STATUSES}, got {status!r}")
        row = self.db.execute("SELECT version FROM experts WHERE name = ? AND path = ?", (name, path)).fetchone()
        if row:
            return int(row[0])
        with self.db:
            self.db.execute("BEGIN IMMEDIATE")
            version = self.db.execute("SELECT COALESCE(MAX(version), 0) + 1 FROM experts WHERE name = ?", (name,)).fetchone()[0]
            self.db.execute("INSERT INTO experts VALUES (?, ?, ?, ?, ?, ?)",
                            (name, version, path, status, json.dumps(metrics or {}), time.time()))
            if event is not None:
                self._insert_event(event[0], {**event[1], "version": int(version)})
        return int(version)

    def set_expert_status(self, name: str, version: int, status: str, metrics: dict | None = None,
                          event: tuple[str, dict] | None = None) -> None:
        """``event`` (episode, event dict) is committed with the status: the log never disagrees with the table."""
        if status not in EXPERT_STATUSES:
            raise ValueError(f"expert status must be one of {EXPERT_STATUSES}, got {status!r}")
        with self.db:
            self.db.execute("BEGIN IMMEDIATE")
            cur = self.db.execute("UPDATE experts SET status = ?, metrics = COALESCE(?, metrics) WHERE name = ? AND version = ?",
                                  (status, json.dumps(metrics) if metrics is not None else None, name, version))
            if cur.rowcount == 0:
                raise KeyError(f"no expert {name!r} version {version}")
            if event is not None:
                self._insert_event(*event)

    # -- the event log and reading an episode back (``run --resume``) ---------------------------------------
    def _insert_event(self, episode: str, event: dict) -> None:
        self.db.execute("INSERT INTO events (episode, event, data, created) VALUES (?, ?, ?, ?)",
                        (episode, str(event["event"]), json.dumps(event), time.time()))

    def add_event(self, episode: str, event: dict) -> None:
        """One loop event (``{"event": kind, "step": ..., ...}``), committed."""
        with self.db:
            self.db.execute("BEGIN IMMEDIATE")
            self._insert_event(episode, event)

    def events(self, episode: str) -> list[dict]:
        """The episode's events in the order they were committed."""
        return [json.loads(d) for (d,) in self.db.execute("SELECT data FROM events WHERE episode = ? ORDER BY id", (episode,))]

    def interactions(self, episode: str) -> list[dict]:
        """Every stored interaction of ``episode`` with its verdict, by step: what the loop needs to go on from."""
        rows = self.db.execute(
            "SELECT i.id, i.step, i.scenario, i.utterance, i.response_text, i.intended_emotion, i.experts, i.latency_ms,"
            " i.context, v.success, v.physical_ok, v.emotion_ok, v.semantic_ok, v.novel, v.reason, v.details"
            " FROM interactions i LEFT JOIN verdicts v ON v.interaction_id = i.id WHERE i.episode = ? ORDER BY i.step",
            (episode,)).fetchall()
        keys = ("id", "step", "scenario", "utterance", "response_text", "intended_emotion", "experts", "latency_ms", "context",
                "success", "physical_ok", "emotion_ok", "semantic_ok", "novel", "reason", "details")
        out = []
        for r in rows:
            d = dict(zip(keys, r))
            for k in ("experts", "latency_ms", "context", "details"):
                d[k] = json.loads(d[k]) if d[k] is not None else None
            for k in ("success", "physical_ok", "emotion_ok", "semantic_ok", "novel"):
                d[k] = None if d[k] is None else bool(d[k])
            out.append(d)
        return out

    def integrity(self) -> str:
        """SQLite's own check of the file ("ok" when sound)."""
        return str(self.db.execute("PRAGMA integrity_check").fetchone()[0])

    def published(self) -> dict[str, dict]:
        """The newest published version of every expert."""
        rows = self.db.execute("SELECT name, MAX(version), path, metrics FROM experts WHERE status = 'published' GROUP BY name").fetchall()
        return {n: {"version": v, "path": p, "metrics": json.loads(m)} for n, v, p, m in rows}

    def expert_timeline(self) -> list[dict]:
        rows = self.db.execute("SELECT name, version, status, created, metrics, path FROM experts ORDER BY created").fetchall()
        return [{"name": n, "version": v, "status": s, "created": c, "metrics": json.loads(m), "path": p}
                for n, v, s, c, m, p in rows]

