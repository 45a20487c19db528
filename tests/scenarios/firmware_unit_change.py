"""A firmware update that changed a sensor's unit in one device group.

A fleet of refrigerated trucks reported cargo temperature in Celsius. Firmware 3.0 switched the field to
Fahrenheit on the trucks that received it, and the spoilage model read 40 °F as a dangerously warm 40 °C.
Only the updated group changed; the other firmware groups, and the other sensors, kept their distributions.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

FIRMWARES = {"1.4": 0.4, "2.1": 0.35, "3.0": 0.25}
UPDATED = "3.0"


@dataclass(frozen=True)
class FirmwareUnits:
    """Reference and current sensor readings; in current, firmware UPDATED reports Fahrenheit."""

    reference: pl.DataFrame
    current: pl.DataFrame


def _readings(rng: np.random.Generator, n: int, *, fahrenheit_on_updated: bool) -> pl.DataFrame:
    """``n`` readings: temperature (°C, or °F on the updated firmware) and humidity."""
    firmware = rng.choice(list(FIRMWARES), size=n, p=list(FIRMWARES.values()))
    celsius = rng.normal(4.0, 1.5, n)
    converted = fahrenheit_on_updated & (firmware == UPDATED)
    return pl.DataFrame({
        "firmware": firmware,
        "temperature": np.round(np.where(converted, celsius * 9 / 5 + 32, celsius), 2),
        "humidity": np.round(rng.beta(8, 4, n) * 100, 1),
    })


def generate(seed: int = 0, n: int = 20_000) -> FirmwareUnits:
    """Build the scenario: ``n`` readings on each side."""
    rng = np.random.default_rng(seed)
    return FirmwareUnits(reference=_readings(rng, n, fahrenheit_on_updated=False),
                         current=_readings(rng, n, fahrenheit_on_updated=True))
