"""Generate sample_data/houses.csv and sample_data/apartments.csv (seeded, synthetic).

Both tables share one nonlinear price structure, so a model trained on both learns
the small apartments table better than one trained on it alone:

    price = (400_000 · (1 − exp(−size / 80))
             + 35_000 · bedrooms · tanh((size / bedrooms − 28) / 6)) · extra · noise

Size has diminishing returns; a bedroom adds value only when rooms are roomy
enough (cramped rooms lower the price), an interaction a small table cannot pin
down alone. ``extra`` is 1 + 0.08 per bathroom beyond the first for houses and a
location factor for apartments (downtown 1.3, suburb 1.0, rural 0.75); ``noise``
is multiplicative, exp(N(0, 0.06²)). A few inputs are left missing on purpose so
the dashboard can show imputation.

Run from the repository root: ``python scripts/make_houses.py``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

OUT = Path(__file__).resolve().parents[1] / "sample_data"
SEED = 20240611
LOCATION_FACTOR = {"downtown": 1.3, "suburb": 1.0, "rural": 0.75}


def base_price(size_sqm: np.ndarray, bedrooms: np.ndarray) -> np.ndarray:
    """The price structure both tables share."""
    roominess = np.tanh((size_sqm / bedrooms - 28) / 6)
    return 400_000 * (1 - np.exp(-size_sqm / 80)) + 35_000 * bedrooms * roominess


def bedrooms_for(size_sqm: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    return np.clip(np.round(size_sqm / 35 + rng.normal(0, 0.7, len(size_sqm))), 1, 6).astype(int)


def noise(n: int, rng: np.random.Generator) -> np.ndarray:
    return np.exp(rng.normal(0, 0.06, n))


def make_houses(n: int, rng: np.random.Generator) -> pd.DataFrame:
    size = np.clip(np.round(rng.lognormal(np.log(120), 0.35, n)), 40, 400)
    bedrooms = bedrooms_for(size, rng)
    bathrooms = np.clip(np.round(bedrooms / 2 + rng.normal(0, 0.5, n)), 1, 4).astype(int)
    price = base_price(size, bedrooms) * (1 + 0.08 * (bathrooms - 1)) * noise(n, rng)
    df = pd.DataFrame(
        {
            "size_sqm": size.astype(int),
            "bedrooms": bedrooms,
            "bathrooms": pd.array(bathrooms, dtype="Int64"),
            "price": (np.round(price / 1000) * 1000).astype(int),
        }
    )
    df.loc[rng.choice(n, size=8, replace=False), "bathrooms"] = pd.NA
    return df


def make_apartments(n: int, rng: np.random.Generator) -> pd.DataFrame:
    size = np.clip(np.round(rng.lognormal(np.log(85), 0.35, n)), 25, 180)
    bedrooms = bedrooms_for(size, rng)
    location = rng.choice(list(LOCATION_FACTOR), size=n, p=[0.35, 0.45, 0.2])
    factor = np.array([LOCATION_FACTOR[loc] for loc in location])
    price = base_price(size, bedrooms) * factor * noise(n, rng)
    df = pd.DataFrame(
        {
            "size_sqm": pd.array(size.astype(int), dtype="Int64"),
            "bedrooms": bedrooms,
            "location": location,
            "price": (np.round(price / 1000) * 1000).astype(int),
        }
    )
    df.loc[rng.choice(n, size=4, replace=False), "size_sqm"] = pd.NA
    return df


def main() -> None:
    rng = np.random.default_rng(SEED)
    OUT.mkdir(exist_ok=True)
    make_houses(800, rng).to_csv(OUT / "houses.csv", index=False)
    make_apartments(120, rng).to_csv(OUT / "apartments.csv", index=False)
    print(f"Wrote {OUT / 'houses.csv'} and {OUT / 'apartments.csv'}.")


if __name__ == "__main__":
    main()
