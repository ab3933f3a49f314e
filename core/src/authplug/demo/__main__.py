"""``python -m authplug.demo``: run the demo on http://127.0.0.1:8000."""

from authplug.demo.server import run

run()
