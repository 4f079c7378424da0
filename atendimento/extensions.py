"""Extensions created once without an app; bound in ``create_app``."""
from flask_babel import Babel
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect
from sqlalchemy import MetaData

# Named constraints so Alembic migrations are stable across SQLite and PostgreSQL.
naming_convention = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

db = SQLAlchemy(metadata=MetaData(naming_convention=naming_convention))
migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtect()
babel = Babel()
# Routes opt in (auth/limits.py); the client's address is the one TRUSTED_PROXIES vouch for.
# moving-window: no burst of twice the limit across a window's edge. Redis down: each worker
# limits in its own memory until Redis is back, rather than failing logins.
limiter = Limiter(get_remote_address, strategy="moving-window", in_memory_fallback_enabled=True,
                  swallow_errors=True)
