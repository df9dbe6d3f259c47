"""Provider callbacks (Twilio-compatible), authenticated by X-Twilio-Signature."""
from flask import Blueprint

bp = Blueprint("webhooks", __name__, url_prefix="/hooks")
