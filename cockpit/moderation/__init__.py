"""Acting on platforms: moderation requests, the token holder's executor, the case log."""
