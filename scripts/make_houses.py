"""Generate sample_data/houses.csv and sample_data/apartments.csv (seeded, synthetic).

Houses and apartments of one made-up town follow one price rule, written in columns
both tables have (``size_sqm``, ``bedrooms``, ``neighbourhood``), so a model that
reads those columns through one shared input layer can carry what it learns on the
many houses over to the few apartments:

    price = level[neighbourhood]
            · (400_000 · (1 − exp(−size / 80))
               + 35_000 · bedrooms · tanh((size / bedrooms − 28) / 6))
            · extra · noise

``level`` is the neighbourhood's price level (from 0.6 in the outskirts to 1.5 in
the old town), the same for both tables. Size has diminishing returns; a bedroom
adds value only when rooms are roomy enough. ``extra`` is 1 + 0.08 per bathroom
beyond the first for houses, and 0.9 + 0.025 per floor above the ground for
apartments; ``noise`` is multiplicative, exp(N(0, 0.06²)). Prices are rounded to
the thousand. A few inputs are left missing on purpose so the dashboard can show
imputation.

The apartments table is larger than its task needs (480 rows): the built-in task
trains on only 60 of its labelled training rows (``train_rows``) so that it needs
help, while its validation and test splits (72 rows each at the default 15 %) are
large enough to judge that help.

Run from the repository root: ``python scripts/make_houses.py``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

OUT = Path(__file__).resolve().parents[1] / "sample_data"
SEED = 20240611
N_HOUSES, N_APARTMENTS = 800, 480
# Price level of each neighbourhood, and how often houses / apartments are found there.
NEIGHBOURHOODS = {
    "old_town": (1.50, 0.06, 0.20),
    "riverside": (1.30, 0.10, 0.16),
    "university": (1.15, 0.10, 0.18),
    "harbour": (1.05, 0.12, 0.12),
    "market": (0.95, 0.14, 0.14),
    "parkside": (0.85, 0.18, 0.10),
    "industrial": (0.70, 0.12, 0.06),
    "outskirts": (0.60, 0.18, 0.04),
}


def base_price(size_sqm: np.ndarray, bedrooms: np.ndarray) -> np.ndarray:
    """The size-and-bedrooms part of the price both tables share."""
    roominess = np.tanh((size_sqm / bedrooms - 28) / 6)
    return 400_000 * (1 - np.exp(-size_sqm / 80)) + 35_000 * bedrooms * roominess


def bedrooms_for(size_sqm: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    return np.clip(np.round(size_sqm / 35 + rng.normal(0, 0.7, len(size_sqm))), 1, 6).astype(int)


def neighbourhoods(n: int, column: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """``n`` neighbourhood names drawn with the table's frequencies, and their price levels."""
    names = list(NEIGHBOURHOODS)
    p = np.array([NEIGHBOURHOODS[k][column] for k in names])
    drawn = rng.choice(names, size=n, p=p / p.sum())
    return drawn, np.array([NEIGHBOURHOODS[k][0] for k in drawn])


def noise(n: int, rng: np.random.Generator) -> np.ndarray:
    return np.exp(rng.normal(0, 0.06, n))


def rounded_price(price: np.ndarray) -> np.ndarray:
    return (np.round(price / 1000) * 1000).astype(int)


def make_houses(n: int, rng: np.random.Generator) -> pd.DataFrame:
    size = np.clip(np.round(rng.lognormal(np.log(120), 0.35, n)), 40, 400)
    bedrooms = bedrooms_for(size, rng)
    bathrooms = np.clip(np.round(bedrooms / 2 + rng.normal(0, 0.5, n)), 1, 4).astype(int)
    where, level = neighbourhoods(n, 1, rng)
    extra = 1 + 0.08 * (bathrooms - 1)
    price = level * base_price(size, bedrooms) * extra * noise(n, rng)
    df = pd.DataFrame(
        {
            "size_sqm": size.astype(int),
            "bedrooms": bedrooms,
            "bathrooms": pd.array(bathrooms, dtype="Int64"),
            "neighbourhood": where,
            "price": rounded_price(price),
        }
    )
    df.loc[rng.choice(n, size=8, replace=False), "bathrooms"] = pd.NA
    return df


def make_apartments(n: int, rng: np.random.Generator) -> pd.DataFrame:
    size = np.clip(np.round(rng.lognormal(np.log(80), 0.35, n)), 25, 200)
    bedrooms = bedrooms_for(size, rng)
    floor = rng.integers(0, 9, n)
    where, level = neighbourhoods(n, 2, rng)
    extra = 0.9 + 0.025 * floor
    price = level * base_price(size, bedrooms) * extra * noise(n, rng)
    df = pd.DataFrame(
        {
            "size_sqm": pd.array(size.astype(int), dtype="Int64"),
            "bedrooms": bedrooms,
            "floor": floor,
            "neighbourhood": where,
            "price": rounded_price(price),
        }
    )
    df.loc[rng.choice(n, size=6, replace=False), "size_sqm"] = pd.NA
    return df


def main() -> None:
    rng = np.random.default_rng(SEED)
    OUT.mkdir(exist_ok=True)
    make_houses(N_HOUSES, rng).to_csv(OUT / "houses.csv", index=False)
    make_apartments(N_APARTMENTS, rng).to_csv(OUT / "apartments.csv", index=False)
    print(f"Wrote {OUT / 'houses.csv'} and {OUT / 'apartments.csv'}.")


if __name__ == "__main__":
    main()
