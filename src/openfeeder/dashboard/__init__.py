"""The dashboard: server-rendered pages for the people who work the leads (``/app/…``)."""
