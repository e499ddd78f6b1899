from __future__ import annotations

import os

from django.core.wsgi import get_wsgi_application
from django.urls import get_resolver

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "execdash.settings")
application = get_wsgi_application()

# Import the URLconf, and with it every view and the API's schemas, as each web worker
# boots rather than in the first request it answers (a third of a second here): the first
# requests after a deploy or a worker's restart are then as fast as the rest.
get_resolver().reverse_dict  # noqa: B018
