"""HTTP handlers for /api/v1/users: list, create, change role or password, delete (admins
only). The last admin can be neither demoted nor deleted."""

from __future__ import annotations

from typing import Annotated, TypeAlias

from litestar import Controller, Request, delete, get, patch, post
from litestar.params import JSONBody, PathParameter
from litestar.status_codes import HTTP_204_NO_CONTENT

from vigil_core.accounts import USER_NAME

from ..body import StrictBody
from ..database import PoolDep
from ..errors import responses
from . import service
from .schemas import User, UserCreate, UserList, UserUpdate

UserNameParam: TypeAlias = Annotated[
    str, PathParameter(pattern=USER_NAME.pattern, description="The user's name")
]


class UserController(Controller):
    path = "/api/v1/users"
    tags = ["users"]
    opt = {"access": "admin"}

    @get("/", operation_id="listUsers", summary="List users", responses=responses(503))
    async def list_users(self, pool: PoolDep) -> UserList:
        """Every user by name, with role, scopes and last sign-in; never a password."""
        async with pool.acquire() as conn:
            return UserList(items=await service.list_all(conn))

    @post(
        "/",
        operation_id="createUser",
        summary="Create a user",
        dto=StrictBody.of(UserCreate),
        return_dto=None,
        responses=responses(400, 409, 413, 503),
    )
    async def create(self, data: JSONBody[UserCreate], pool: PoolDep) -> User:
        """Create a user with a role and a password (12 to 1024 characters; stored as an
        argon2id hash, never shown). A name in use: 409."""
        async with pool.acquire() as conn:
            return await service.create(conn, data)

    @patch(
        "/{name:str}",
        operation_id="updateUser",
        summary="Change a user's role or password",
        dto=StrictBody.of(UserUpdate),
        return_dto=None,
        responses=responses(400, 404, 409, 413, 503),
    )
    async def update(
        self, name: UserNameParam, data: JSONBody[UserUpdate], pool: PoolDep, request: Request
    ) -> User:
        """Change the role and/or the password. A new password signs the user out everywhere
        (their sessions end; their tokens stay). A lower role lowers what the user's tokens can
        do at once. Demoting the last admin: 409."""
        async with pool.acquire() as conn:
            user = await service.update(conn, name, data)
        _forget_credentials(request)
        return user

    @delete(
        "/{name:str}",
        operation_id="deleteUser",
        summary="Delete a user",
        status_code=HTTP_204_NO_CONTENT,
        responses=responses(400, 404, 409, 503),
    )
    async def delete_user(self, name: UserNameParam, pool: PoolDep, request: Request) -> None:
        """Delete a user with their sessions and the tokens they made. Deleting the last
        admin: 409."""
        async with pool.acquire() as conn:
            await service.delete(conn, name)
        _forget_credentials(request)


def _forget_credentials(request: Request) -> None:
    """A role, password or user gone changes what cached sessions and tokens may do: this
    replica forgets them at once; the others hear NOTIFY vigil_auth moments later."""
    request.app.state.authenticator.clear()
