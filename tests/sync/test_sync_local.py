"""Two installations syncing through one folder: convergence, conflicts, tombstones, encryption."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from sync_helpers import installation


async def test_two_installations_converge_through_a_folder(
    tmp_path: Path, databases: Callable[[str], Any]
) -> None:
    folder = str(tmp_path / "remote")
    async with (
        installation(tmp_path / "a", await databases("a"), "local", folder) as a,
        installation(tmp_path / "b", await databases("b"), "local", folder) as b,
    ):
        first = await a.chat("Tuning the violin", "How tight should the E string be?", "Not too tight.")
        await a.chat("Bread", "How long do I proof sourdough?")

        pushed = (await a.sync()).json()
        pulled = (await b.sync()).json()

        assert (pushed["uploaded"], pushed["downloaded"], pushed["conflicts"]) == (2, 0, 0)
        assert (pulled["uploaded"], pulled["downloaded"], pulled["conflicts"]) == (0, 2, 0)
        assert pulled["last_sync"]
        assert await b.library() == await a.library()

        # a change on one side travels to the other
        await b.say(await b.find("Tuning the violin"), "Use a tuner app.")
        assert (await b.sync()).json()["uploaded"] == 1
        assert (await a.sync()).json()["downloaded"] == 1
        assert (await a.library())["Tuning the violin"][-1] == "Use a tuner app."
        assert await a.library() == await b.library()

        # nothing changed: nothing moves
        again = (await a.sync()).json()
        assert (again["uploaded"], again["downloaded"], again["conflicts"]) == (0, 0, 0)

        # a deletion travels as a tombstone
        assert (await a.client.delete(f"/api/v1/sessions/{first}")).status_code == 204
        assert (await a.sync()).json()["uploaded"] == 1
        assert (await b.sync()).json()["downloaded"] == 1
        assert set(await b.library()) == {"Bread"}
        assert (await b.sync()).json()["downloaded"] == 0  # the tombstone is applied once


async def test_a_chat_changed_on_both_sides_is_a_conflict_with_both_versions_kept(
    tmp_path: Path, databases: Callable[[str], Any]
) -> None:
    folder = str(tmp_path / "remote")
    async with (
        installation(tmp_path / "a", await databases("a"), "local", folder) as a,
        installation(tmp_path / "b", await databases("b"), "local", folder) as b,
    ):
        await a.chat("Plan", "Step one.")
        await a.sync()
        await b.sync()
        chat_a, chat_b = await a.find("Plan"), await b.find("Plan")
        renamed = await a.client.put(f"/api/v1/sessions/{chat_a}", json={"title": "Plan (A's title)"})
        assert renamed.status_code == 200, renamed.text
        await b.client.put(f"/api/v1/sessions/{chat_b}", json={"title": "Plan (B's title)"})

        assert (await a.sync()).json()["conflicts"] == 0
        result = (await b.sync()).json()

        assert result["conflicts"] == 1
        library_b = await b.library()
        assert "Plan (B's title)" in library_b  # B's own version, untouched
        assert "Plan (A's title) (conflicting copy)" in library_b  # A's version, kept beside it
        await a.sync()
        assert await a.library() == library_b  # both installations end with both versions


async def test_encrypted_objects_and_a_wrong_key_changes_nothing(
    tmp_path: Path, databases: Callable[[str], Any]
) -> None:
    folder = tmp_path / "remote"
    async with installation(
        tmp_path / "a",
        await databases("a"),
        "local",
        str(folder),
        sync_encryption_key="correct horse battery",
    ) as a:
        assert (await a.client.put("/api/v1/settings", json={"encryption_enabled": True})).status_code == 200
        await a.chat("Secret plans", "The treasure is under the oak tree.")
        assert (await a.sync()).json()["uploaded"] == 1

    stored = b"".join(p.read_bytes() for p in folder.rglob("*") if p.is_file())
    assert b"treasure" not in stored and b"Secret" not in stored

    async with installation(
        tmp_path / "b", await databases("b"), "local", str(folder), sync_encryption_key="wrong key"
    ) as b:
        await b.client.put("/api/v1/settings", json={"encryption_enabled": True})
        await b.chat("Mine", "Local only.")

        refused = await b.sync()

        assert refused.status_code == 409
        assert refused.json()["code"] == "SYNC_WRONG_KEY"
        assert await b.library() == {"Mine": ["Local only."]}

        await b.client.put("/api/v1/settings", json={"encryption_enabled": False})
        mismatch = await b.sync()
        assert mismatch.status_code == 409 and mismatch.json()["code"] == "SYNC_ENCRYPTION_MISMATCH"


async def test_sync_needs_settings(tmp_path: Path, databases: Callable[[str], Any]) -> None:
    async with installation(tmp_path / "a", await databases("a"), "s3", "") as a:
        missing = await a.sync()
        assert missing.status_code == 409 and missing.json()["code"] == "SYNC_NOT_CONFIGURED"
        await a.client.put("/api/v1/settings", json={"sync_enabled": False})
        off = await a.client.post("/api/sync")
        assert off.status_code == 409 and off.json()["error"]["code"] == "SYNC_NOT_CONFIGURED"
