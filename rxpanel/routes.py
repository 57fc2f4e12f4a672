"""Every route of the panel, in one place."""

OVERVIEW = "/"
SERVERS = "/servers"
APPS = "/apps"
APP = "/apps/[name]"
DEPLOYMENT = "/deployments/[id]"
USERS = "/users"
TOKENS = "/tokens"
AUDIT = "/audit"


def app_url(name: str) -> str:
    return f"/apps/{name}"


def deployment_url(dep_id: int | str) -> str:
    return f"/deployments/{dep_id}"
