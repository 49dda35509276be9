"""The bookstore release."""

__version__ = "3.0.0.dev0"
