"""Community Cockpit: the headless core and command line."""

__version__ = "0.1.0"
