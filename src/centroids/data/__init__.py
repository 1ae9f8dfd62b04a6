"""Reading tables and preparing them: type inference, missing values, scaling, one-hot."""

from .prepare import MISSING_LEVEL, SCALINGS, Preparation
from .read import DataError, read_table

__all__ = ["MISSING_LEVEL", "SCALINGS", "DataError", "Preparation", "read_table"]
