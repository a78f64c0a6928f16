"""The ADM kiosk controller core: no Flask and no hardware library is imported here."""

__version__ = "0.1.0"
