"""Exports: which records (records.py), their settings (settings.py), their file formats (formats/)."""
