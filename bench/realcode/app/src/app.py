"""acme-shop back office: a small Flask app over the vendored packages."""
import sys

sys.path.insert(0, "/app/vendor")

import boto3  # noqa: E402
from flask import Flask, jsonify  # noqa: E402

from settings import ALLOWED_HOSTS  # noqa: E402

app = Flask(__name__)


@app.get("/healthz")
def healthz():
    return jsonify(ok=True, hosts=ALLOWED_HOSTS, s3=boto3.__version__)
