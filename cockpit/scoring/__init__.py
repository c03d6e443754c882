"""KOC leaderboard, identities across platforms, community health and the weekly report."""
