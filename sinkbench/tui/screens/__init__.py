"""The session's screens: the dashboard and its modals."""
