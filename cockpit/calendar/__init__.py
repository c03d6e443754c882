"""Events, recurrences, shifts, slots and reminders across time zones (RFC 5545 rules).

The core of the Calendar pane and `cockpit calendar`; no Textual here.
"""
