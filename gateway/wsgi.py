"""gunicorn entry point: `gunicorn gateway.wsgi:app`."""

from gateway.app import create_app
from gateway.requestlog import configure_logging

configure_logging()
app = create_app()
