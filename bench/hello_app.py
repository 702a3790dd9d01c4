"""The ceiling for bench/load.py: a bare Flask "hello", served by the same gunicorn settings.

Whatever this serves per second on the machine, at the same concurrency and in the
same run, is the most any Flask app could; the app's figures are read against it.
"""

from flask import Flask

app = Flask(__name__)


@app.get("/")
def hello() -> str:
    return "hello"
