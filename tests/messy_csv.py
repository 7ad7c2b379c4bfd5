"""Realistic CSV files for the CSV-handling tests, generated (no downloads).

Three shapes a data scientist brings, after the public tables issue 10 was filed with:

* ``cars_csv``: an auto-mpg-like table: missing values in ``mpg`` and ``horsepower``,
  a free-text ``name`` column (mostly one name per car), whole-number categories.
* ``weather_csv``: a daily weather table with an ISO ``date`` column, a seasonal
  ``temp_max`` / ``temp_min`` and a ``weather`` category as the last column.
* ``penguins_raw_csv``: the raw Palmer penguins layout: messy column names with
  spaces, parentheses and slashes, a per-species row counter ``Sample Number``, an
  ``Individual ID`` code column, a constant ``Region``, a two-digit-year date
  ``Date Egg`` (11/11/07) and a mostly empty free-text ``Comments`` column last.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

CAR_MAKES = ("chevrolet", "ford", "toyota", "datsun", "honda", "volkswagen", "plymouth")
CAR_MODELS = ("malibu", "torino", "corolla", "civic", "rabbit", "fury", "impala", "pinto")
CAR_TRIMS = ("custom", "wagon", "deluxe", "sw", "brougham", "coupe", "gl", "le")


def cars_frame(n: int = 200, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    cylinders = rng.choice([4, 6, 8], n, p=[0.5, 0.25, 0.25])
    weight = (1500 + 450 * cylinders + rng.normal(0, 250, n)).round()
    horsepower = (20 + 13 * cylinders + rng.normal(0, 8, n)).round()
    mpg = (55 - weight / 120 + rng.normal(0, 2, n)).round(1)
    names = [
        f"{rng.choice(CAR_MAKES)} {rng.choice(CAR_MODELS)} {rng.choice(CAR_TRIMS)} {i % 13}"
        for i in range(n)
    ]
    df = pd.DataFrame({
        "mpg": mpg, "cylinders": cylinders, "horsepower": horsepower, "weight": weight,
        "acceleration": (20 - horsepower / 20 + rng.normal(0, 1, n)).round(1),
        "model_year": rng.integers(70, 83, n), "origin": rng.choice([1, 2, 3], n),
        "name": names,
    })  # fmt: skip
    df.loc[rng.choice(n, 8, replace=False), "mpg"] = np.nan
    df.loc[rng.choice(n, 6, replace=False), "horsepower"] = np.nan
    return df


def weather_frame(n: int = 400, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    dates = pd.date_range("2012-01-01", periods=n, freq="D")
    season = np.cos(2 * np.pi * (dates.day_of_year.to_numpy() - 200) / 365.25)
    temp_max = (16 + 9 * season + rng.normal(0, 2, n)).round(1)
    precipitation = np.where(rng.random(n) < 0.4, rng.gamma(1.5, 4, n), 0.0).round(1)
    weather = np.where(precipitation > 0, "rain", rng.choice(["sun", "fog", "drizzle"], n))
    return pd.DataFrame({
        "date": dates.strftime("%Y-%m-%d"), "precipitation": precipitation,
        "temp_max": temp_max, "temp_min": (temp_max - 8 + rng.normal(0, 1.5, n)).round(1),
        "wind": rng.gamma(3, 1.2, n).round(1), "weather": weather,
    })  # fmt: skip


COMMENTS = (
    "Nest never observed with full clutch.",
    "Not enough blood for isotopes.",
    "Adult not sampled.",
    "No blood sample obtained for sexing.",
    "Sexing primers did not amplify. Not enough blood for isotopes.",
    "Nest never observed with full clutch. Not enough blood for isotopes.",
)
SPECIES = (
    ("Adelie Penguin (Pygoscelis adeliae)", "N", 3700, 38.8),
    ("Gentoo penguin (Pygoscelis papua)", "G", 5000, 47.5),
    ("Chinstrap penguin (Pygoscelis antarctica)", "C", 3700, 48.8),
)


def penguins_raw_frame(per_species: int = 60, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    for species, code, mass, bill in SPECIES:
        for k in range(1, per_species + 1):
            egg = pd.Timestamp(2007 + int(rng.integers(0, 3)), 11, int(rng.integers(1, 28)))
            rows.append({
                "studyName": f"PAL0{7 + egg.year - 2007}0{8 + egg.year - 2007}"[:7],
                "Sample Number": k, "Species": species, "Region": "Anvers",
                "Island": rng.choice(["Biscoe", "Dream", "Torgersen"]),
                "Stage": "Adult, 1 Egg Stage",
                "Individual ID": f"{code}{rng.integers(1, 40)}A{rng.integers(1, 3)}",
                "Clutch Completion": rng.choice(["Yes", "No"], p=[0.9, 0.1]),
                "Date Egg": egg.strftime("%m/%d/%y"),
                "Culmen Length (mm)": round(bill + rng.normal(0, 2.5), 1),
                "Culmen Depth (mm)": round(17 + rng.normal(0, 1.5), 1),
                "Flipper Length (mm)": int(190 + (mass - 3700) / 60 + rng.normal(0, 6)),
                "Body Mass (g)": int(round(mass + rng.normal(0, 350), -1)),
                "Sex": rng.choice(["MALE", "FEMALE"]),
                "Delta 15 N (o/oo)": round(8.7 + rng.normal(0, 0.5), 5),
                "Delta 13 C (o/oo)": round(-25.8 + rng.normal(0, 0.6), 5),
                "Comments": rng.choice(COMMENTS) if rng.random() < 0.15 else None,
            })  # fmt: skip
    df = pd.DataFrame(rows)
    df.loc[rng.choice(len(df), 5, replace=False), "Sex"] = None
    df.loc[rng.choice(len(df), 4, replace=False), "Delta 15 N (o/oo)"] = np.nan
    return df


def to_csv(df: pd.DataFrame) -> bytes:
    return df.to_csv(index=False).encode()


def cars_csv(**kw: int) -> bytes:
    return to_csv(cars_frame(**kw))


def weather_csv(**kw: int) -> bytes:
    return to_csv(weather_frame(**kw))


def penguins_raw_csv(**kw: int) -> bytes:
    return to_csv(penguins_raw_frame(**kw))
