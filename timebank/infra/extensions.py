"""The database extensions, created unbound here and bound in ``create_app`` (the web
layer's own, log-in, CSRF, HTMX and rate limits, are in ``timebank.web.extensions``)."""

from typing import TYPE_CHECKING

from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase

# Named constraints, so migrations can alter them on SQLite and PostgreSQL alike.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


db = SQLAlchemy(model_class=Base)
# The base every model subclasses: Flask-SQLAlchemy's ``db.Model`` (which adds the table
# name and the query property), seen by the type checker as the declarative base it is.
if TYPE_CHECKING:
    Model = Base
else:
    Model = db.Model
migrate = Migrate()
