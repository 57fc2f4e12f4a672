"""Services own the database: every read and write of rows goes through here."""


class ServiceError(ValueError):
    """A refused request, in one plain sentence."""


class NotFound(ServiceError):
    pass


class Conflict(ServiceError):
    pass
