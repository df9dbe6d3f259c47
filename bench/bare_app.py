"""The baseline of the webhook benchmark: a bare Flask endpoint at the same path, returning 204, nothing else."""
from flask import Flask

app = Flask(__name__)


@app.post("/hooks/twilio/<kind>/<int:attempt_id>")
def hook(kind, attempt_id):
    return "", 204
