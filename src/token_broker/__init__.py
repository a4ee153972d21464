"""scopegate's token broker (built in a later issue)."""
