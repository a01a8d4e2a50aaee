"""Settings, database and migrations, event bus, identity, and the `arrears` command line root."""
