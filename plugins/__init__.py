"""Built-in platform plugins; each registers through the `cockpit.plugins` entry points."""
