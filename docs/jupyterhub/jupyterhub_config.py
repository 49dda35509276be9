"""A JupyterHub for bookstore: every single-user server on one bucket, each user reaching
only their own workspace, JupyterHub's scopes deciding what each may do on their server.

The scopes and roles are those of bookstore's real-hub tests (tests/hub/rig.py). Fill in
the bucket, the endpoint and the credentials; the single-user servers need bookstore
installed (``pip install bookstore``). See the README, "Deploy on JupyterHub".
"""

c = get_config()  # noqa: F821

# -- the single-user servers: one bucket, a prefix per user --------------------------------
c.Spawner.environment = {
    "JPYNB_S3_BUCKET": "my-notebooks",
    "JPYNB_S3_ENDPOINT_URL": "http://s3.internal:8333",  # leave out on AWS
    "JPYNB_S3_REGION_NAME": "us-east-1",
    "JPYNB_S3_ACCESS_KEY_ID": "bookstore",  # on AWS, see the README for credentials per user
    "JPYNB_S3_SECRET_ACCESS_KEY": "bookstore-secret",
}
c.Spawner.args = [
    "--ServerApp.authorizer_class=bookstore.server.hub_authorizer.HubScopesAuthorizer",
    # bookstore expands {username} with JUPYTERHUB_USER (JupyterHub does not format args)
    "--BookstoreSettings.workspace_prefix=workspace/{username}",
    "--BookstoreSettings.publication_editors=['group:editors']",
    "--BookstoreSettings.audit_readers=['group:auditors']",
]

# -- permissions: JupyterHub custom scopes, one per action and resource ---------------------
PREFIX = "custom:jupyter_server"
ACTIONS = ("read", "write", "execute")  # Jupyter Server's actions
RESOURCES = ("contents", "bookstore")  # the resources that get scopes of their own

custom_scopes = {}
for action in ACTIONS:
    for resource in RESOURCES:
        custom_scopes[f"{PREFIX}:{action}:{resource}"] = {
            "description": f"{action} {resource} on a Jupyter server",
        }
    custom_scopes[f"{PREFIX}:{action}:*"] = {
        "description": f"{action} anything on a Jupyter server",
        "subscopes": [f"{PREFIX}:{action}:{resource}" for resource in RESOURCES],
    }
c.JupyterHub.custom_scopes = custom_scopes

c.JupyterHub.load_roles = [
    {
        # JupyterHub gives this role to every user: what everyone may do on their own server
        "name": "user",
        "description": "Standard user privileges, and reading, running and bookstore "
        "on one's own server",
        "scopes": [
            "self",
            f"{PREFIX}:read:*!user",
            f"{PREFIX}:execute:*!user",
            f"{PREFIX}:write:bookstore!user",
        ],
    },
    {
        # writing workspace files (and everything else) must come from a role of its own,
        # given to those who may: the "user" role cannot be withheld from anybody
        "name": "writer",
        "description": "Writing everything on one's own server (workspace files too)",
        "scopes": [f"{PREFIX}:write:*!user"],
        "groups": ["writers"],
    },
]
c.JupyterHub.load_groups = {
    "writers": {"users": ["alice", "bob"]},
    "editors": {"users": ["alice"]},
    "auditors": {"users": []},
}

# A browser's login to a server (OAuth) carries only these of the user's scopes (plus
# access to that server): without them JupyterLab could do nothing on a server.
c.Spawner.oauth_client_allowed_scopes = [f"{PREFIX}:{action}:*!server" for action in ACTIONS]
