"""Reflex State classes, one per page family. Secrets live only in backend-only
(underscore) vars or not at all; every data handler is @authorized."""
