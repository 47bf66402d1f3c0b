"""The web app: server-rendered pages (Jinja2) for the people who use
FastTrack, a nameko service like the others, calling the three public APIs
over HTTP with the signed-in person's token (kept server-side).

One module and one templates folder per role; the class below mixes them.
A new role's pages (supervisor, admin) are a new module added here.
"""
from nameko.dependency_providers import Config

from services.web.admin import Admin
from services.web.business import Business
from services.web.common import Common
from services.web.duty import Duty
from services.web.officer import Officer
from services.web.sessions import SessionStore
from services.web.supervisor import Supervisor
from shared.mongo import Mongo


class WebService(Business, Officer, Supervisor, Duty, Admin, Common):
    name = "web"
    config = Config()
    sessions = Mongo("web", SessionStore)
