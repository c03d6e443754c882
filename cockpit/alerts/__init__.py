"""Alerts: rules over the activity stream, an Alertmanager-style lifecycle, apprise notifications."""
