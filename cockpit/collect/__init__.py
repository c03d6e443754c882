"""`cockpit collect`: live connectors, webhooks, rules and reminders, headless."""
