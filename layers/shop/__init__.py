"""shopfn's shared layer: settings, database, models, services, auth and ML features."""

__version__ = "0.1.0"
