"""The catalogue: cities, cinemas, halls, movies and shows; its file format, import, demo and queries."""

from booking_core.catalogue.demo import demo_catalogue, seed_demo
from booking_core.catalogue.errors import InvalidCatalogue, RowProblem
from booking_core.catalogue.file_format import Catalogue
from booking_core.catalogue.importer import CatalogueCache, ImportReport, import_catalogue
from booking_core.catalogue.queries import CatalogueQueries
from booking_core.catalogue.validation import load_catalogue_file, parse_catalogue
from booking_core.catalogue.views import (
    CinemaInfo,
    CinemaSchedule,
    CityInfo,
    MovieInfo,
    NearestCity,
    SeatPrice,
    ShowDay,
    ShowDetails,
    ShowTime,
)
from booking_core.hall_layout import HallLayout, LayoutRow, LayoutSeat

__all__ = [
    "Catalogue",
    "CatalogueCache",
    "CatalogueQueries",
    "CinemaInfo",
    "CinemaSchedule",
    "CityInfo",
    "HallLayout",
    "ImportReport",
    "InvalidCatalogue",
    "LayoutRow",
    "LayoutSeat",
    "MovieInfo",
    "NearestCity",
    "RowProblem",
    "SeatPrice",
    "ShowDay",
    "ShowDetails",
    "ShowTime",
    "demo_catalogue",
    "import_catalogue",
    "load_catalogue_file",
    "parse_catalogue",
    "seed_demo",
]
