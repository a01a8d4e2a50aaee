"""Web app: sign-in and roles, agent workbench, manager and compliance consoles, JSON API."""
