"""gunicorn entry point of the live stream, under the gevent worker:

    gunicorn -k gevent --worker-connections 2000 gateway.livestream.wsgi:app

(gunicorn's gevent worker patches the standard library before it loads this module.)
"""

from gateway.livestream.app import create_stream_app
from gateway.requestlog import configure_logging

configure_logging()
app = create_stream_app()
