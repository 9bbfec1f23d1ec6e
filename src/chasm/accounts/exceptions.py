"""Errors of accounts, members and service accounts."""

from __future__ import annotations

from chasm.kit.errors import BadRequest, Conflict, Forbidden, NotFound


class NotAccountAdmin(Forbidden):
    def __init__(self, what: str) -> None:
        super().__init__(f"Only owners and admins of this account can {what}")


class FullAccessRequired(Forbidden):
    code = "full_access_required"

    def __init__(self) -> None:
        super().__init__("Managing accounts needs a login token or an API key without scope restrictions")


class PersonalAccount(BadRequest):
    code = "personal_account"

    def __init__(self) -> None:
        super().__init__("A personal account cannot have members; create an organization instead")


class LastOwner(Conflict):
    code = "last_owner"

    def __init__(self) -> None:
        super().__init__("The account's last owner cannot be removed or demoted")


class OrganizationNameTaken(Conflict):
    code = "organization_name_taken"


class MemberNotFound(NotFound):
    code = "member_not_found"


class UserNotFound(NotFound):
    code = "user_not_found"


class AlreadyMember(Conflict):
    code = "already_member"


class ServiceAccountNotFound(NotFound):
    code = "service_account_not_found"
