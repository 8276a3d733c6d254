"""`python -m bot listings export FILE`: every listing as a marketplace CSV, for admins."""

from __future__ import annotations

from pathlib import Path

from bot.config import Settings
from bot.services.catalog import Directory
from bot.services.container import CONTENT_DIR
from bot.services.listings import ListingRepo
from bot.services.share import Catalogs, export_csv
from bot.storage.db import Store


def run_listings(
    settings: Settings, action: str, file: Path, content_dir: Path = CONTENT_DIR
) -> int:
    """Run one listings subcommand (only "export" so far); return the exit code."""
    if action != "export":
        raise ValueError(f"unknown listings action {action!r}")
    # Opening the store fails with StoreLocked while the bot runs: the caller says so.
    with Store(settings.data_dir) as store:
        listings = ListingRepo(store).all()
        cats = Catalogs(
            Directory.from_yaml(content_dir / "products.yaml"),
            Directory.from_yaml(content_dir / "areas.yaml"),
        )
        data = export_csv(listings, cats, settings.base_url)
    file.write_bytes(data)
    print(f"exported {len(listings)} listings to {file}")
    return 0
