"""Write the committed JSON Schema files: ``python -m contracts.events``."""

from __future__ import annotations

from pathlib import Path

from contracts.events.payloads import render, schema_documents

SCHEMA_DIR = Path(__file__).resolve().parent.parent / "schemas" / "events"


def main() -> None:
    SCHEMA_DIR.mkdir(parents=True, exist_ok=True)
    documents = schema_documents()
    for name, doc in documents.items():
        (SCHEMA_DIR / name).write_text(render(doc), encoding="utf-8")
    for stale in SCHEMA_DIR.glob("*.json"):
        if stale.name not in documents:
            stale.unlink()
    print(f"wrote {len(documents)} schemas to {SCHEMA_DIR}")


if __name__ == "__main__":
    main()
