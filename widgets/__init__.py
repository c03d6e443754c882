"""Textual panes of the cockpit, one module per pane."""
