"""The web app's sessions, server-side in its own database (fasttrack_web):
the only module here that speaks pymongo.

The browser holds only a random session id in an HttpOnly cookie; the
document is stored under the id's SHA-256, so a copy of the database does
not give anyone a live cookie. Access and refresh tokens stay here and
never reach the browser.
"""
import hashlib
import secrets
from datetime import datetime, timedelta
from typing import Any, Optional

SESSIONS = "sessions"


def digest(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


def new_secret() -> str:
    return secrets.token_urlsafe(32)


class SessionStore:
    INDEXES: dict = {SESSIONS: [([("expires_at", 1)], {})]}

    def __init__(self, db):
        self.sessions = db[SESSIONS]

    def create(self, now: datetime, idle: timedelta, **fields) -> tuple[str, dict]:
        """A new session: (the id for the cookie, the stored document). Each
        has its own CSRF token (synchronizer token pattern)."""
        session_id = new_secret()
        doc = {"_id": digest(session_id), "csrf": new_secret(), "created_at": now,
               "seen_at": now, "expires_at": now + idle, "refresh_lock": now, **fields}
        self.sessions.insert_one(doc)
        return session_id, doc

    def find(self, session_id: str, now: datetime) -> Optional[dict]:
        doc = self.sessions.find_one({"_id": digest(session_id)})
        if doc is None or doc["expires_at"] <= now:
            return None
        return doc

    def touch(self, doc: dict, now: datetime, idle: timedelta) -> None:
        # One write a minute at most: a page answer is not a database write.
        if now - doc["seen_at"] > timedelta(seconds=60):
            self.sessions.update_one({"_id": doc["_id"]},
                                     {"$set": {"seen_at": now, "expires_at": now + idle}})

    def update(self, doc: dict, **fields: Any) -> None:
        self.sessions.update_one({"_id": doc["_id"]}, {"$set": fields})
        doc.update(fields)

    def claim_refresh(self, doc: dict, now: datetime, hold: timedelta) -> bool:
        """One request refreshes the tokens at a time: a refresh token is
        single-use and a reuse revokes its family, so two pages refreshing
        at once would sign the person out. The claim is one conditional
        write; `modified_count` says who won."""
        return self.sessions.update_one(
            {"_id": doc["_id"], "refresh_token": doc.get("refresh_token"),
             "refresh_lock": {"$lt": now}},
            {"$set": {"refresh_lock": now + hold}}).modified_count == 1

    def reload(self, doc: dict) -> Optional[dict]:
        return self.sessions.find_one({"_id": doc["_id"]})

    def delete(self, doc: dict) -> None:
        self.sessions.delete_one({"_id": doc["_id"]})

    def ping(self) -> None:
        self.sessions.database.client.admin.command("ping")
