"""Clients signed in as someone, as the sign-in pages leave them: a session kept on the
server, named by the cookie of its face (the back office's, sent to /staff only, or the
portal's)."""

from shared.auth import SESSION_TOKEN_KEY, STAFF_PATH_PREFIX
from shared.extensions import db
from shared.models import Face
from shared.services import sessions as sign_in_sessions

# A path of each face, for opening its cookie.
PATH_OF_FACE = {Face.PORTAL: "/", Face.STAFF: STAFF_PATH_PREFIX + "/"}


def sign_in(client, user, *, faces=tuple(Face), user_agent: str = ""):
    """Sign `user` in on `client`, on both faces unless told: whose pages they may then open
    is for the permission checks to say, as when someone's role changes while signed in.
    Commits, as the sign-in pages do. Returns the client."""
    tokens = {
        face: sign_in_sessions.start_session(user, face, user_agent=user_agent) for face in faces
    }
    db.session.commit()
    for face, token in tokens.items():
        with client.session_transaction(PATH_OF_FACE[face]) as session:
            session["_user_id"] = str(user.id)
            session["_fresh"] = True
            session[SESSION_TOKEN_KEY] = token
    return client
