"""The database extensions, created unbound here and bound in ``create_app`` (the web
layer's own, log-in, CSRF, HTMX and rate limits, are in ``timebank.web.extensions``)."""

from typing import TYPE_CHECKING

from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_sqlalchemy.session import Session as FlaskSession
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


REPLICA = "replica"  # the bind key of the read replica, and Session.info's flag for it


class RoutingSession(FlaskSession):
    """Reads go to the read replica while ``info[REPLICA]`` is set (``infra.db.
    read_replica``, for whole requests that only read: reports, exports, open data,
    map data); writes, row locks and flushes always go to the primary."""

    def get_bind(self, mapper=None, clause=None, bind=None, **kwargs):
        if (bind is None and self.info.get(REPLICA) and not self._flushing
                and clause is not None and getattr(clause, "is_select", False)
                and getattr(clause, "_for_update_arg", None) is None):
            return self._db.engines[REPLICA]
        return super().get_bind(mapper, clause, bind, **kwargs)


db = SQLAlchemy(model_class=Base, session_options={"class_": RoutingSession})
# The base every model subclasses: Flask-SQLAlchemy's ``db.Model`` (which adds the table
# name and the query property), seen by the type checker as the declarative base it is.
if TYPE_CHECKING:
    Model = Base
else:
    Model = db.Model
migrate = Migrate()
