"""The IAM API and STS AssumeRole, driven by the real AWS CLI and boto3 through
AWS_ENDPOINT_URL only. The session server is shared, so every test uses its own names; the
default account 000000000000 with root key test/test is the administrator."""

import datetime
import json
import re
import urllib.request
import uuid

import pytest
from botocore.exceptions import ClientError

from conftest import error_of, retry_config

ACCOUNT = "000000000000"
IAM_NS_ARN = f"arn:aws:iam::{ACCOUNT}"
MODEL_A = "arn:aws:bedrock:us-east-1::foundation-model/amazon.nova-lite-v1:0"
MODEL_B = "arn:aws:bedrock:us-east-1::foundation-model/amazon.nova-pro-v1:0"
ADMIN = "arn:aws:iam::aws:policy/AdministratorAccess"
BEDROCK_RO = "arn:aws:iam::aws:policy/AmazonBedrockReadOnly"
DATE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")


def uniq(prefix):
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def doc(*statements):
    return {"Version": "2012-10-17", "Statement": list(statements)}


def allow(action, resource="*"):
    return {"Effect": "Allow", "Action": action, "Resource": resource}


def deny(action, resource="*"):
    return {"Effect": "Deny", "Action": action, "Resource": resource}


def cli_error(stderr):
    """The `An error occurred (Code) when calling the Op operation: message` line."""
    lines = [l for l in stderr.strip().splitlines() if l.startswith("An error occurred")]
    assert lines, stderr
    return lines[-1]


@pytest.fixture
def iam(client):
    return client("iam")


@pytest.fixture
def new_user(iam, client):
    """Create a user (optionally with inline policies) and an access key; returns
    (name, arn, make_client) where make_client(service) signs with the user's key."""

    def make(prefix="u", policies=(), attach=()):
        name = uniq(prefix)
        iam.create_user(UserName=name)
        for i, p in enumerate(policies):
            iam.put_user_policy(UserName=name, PolicyName=f"p{i}", PolicyDocument=json.dumps(p))
        for a in attach:
            iam.attach_user_policy(UserName=name, PolicyArn=a)
        k = iam.create_access_key(UserName=name)["AccessKey"]

        def make_client(service, **kw):
            return client(
                service,
                aws_access_key_id=k["AccessKeyId"],
                aws_secret_access_key=k["SecretAccessKey"],
                **kw,
            )

        return name, f"{IAM_NS_ARN}:user/{name}", make_client

    return make


# ---------------------------------------------------------------- the AWS CLI


def test_cli_user_key_and_caller_identity(aws):
    name = uniq("dev")
    rc, out, err = aws("iam", "create-user", "--user-name", name)
    assert rc == 0, err
    user = json.loads(out)["User"]
    assert set(user) == {"Path", "UserName", "UserId", "Arn", "CreateDate"}
    assert (user["Path"], user["UserName"], user["Arn"]) == ("/", name, f"{IAM_NS_ARN}:user/{name}")
    assert re.fullmatch(r"AIDA[A-Z2-7]{17}", user["UserId"])

    rc, out, err = aws("iam", "create-access-key", "--user-name", name)
    assert rc == 0, err
    key = json.loads(out)["AccessKey"]
    assert (key["UserName"], key["Status"]) == (name, "Active")
    assert re.fullmatch(r"AKIA[A-Z2-7]{16}", key["AccessKeyId"])
    assert len(key["SecretAccessKey"]) == 40

    env = {"AWS_ACCESS_KEY_ID": key["AccessKeyId"], "AWS_SECRET_ACCESS_KEY": key["SecretAccessKey"]}
    rc, out, err = aws("sts", "get-caller-identity", env=env)
    assert rc == 0, err
    assert json.loads(out) == {"UserId": user["UserId"], "Account": ACCOUNT, "Arn": user["Arn"]}

    rc, out, err = aws("iam", "list-access-keys", "--user-name", name)
    assert rc == 0, err
    meta = json.loads(out)["AccessKeyMetadata"]
    assert [(m["UserName"], m["AccessKeyId"], m["Status"]) for m in meta] == [(name, key["AccessKeyId"], "Active")]


def test_cli_create_user_twice_is_entity_already_exists(aws):
    name = uniq("twice")
    assert aws("iam", "create-user", "--user-name", name)[0] == 0
    rc, out, err = aws("iam", "create-user", "--user-name", name)
    assert rc != 0
    assert cli_error(err) == (
        f"An error occurred (EntityAlreadyExists) when calling the CreateUser operation: "
        f"User with name {name} already exists."
    )


def test_cli_no_such_entity(aws):
    name = uniq("ghost")
    rc, _, err = aws("iam", "get-user", "--user-name", name)
    assert rc != 0
    assert cli_error(err) == (
        f"An error occurred (NoSuchEntity) when calling the GetUser operation: The user with name {name} cannot be found."
    )
    rc, _, err = aws("iam", "get-role", "--role-name", name)
    assert cli_error(err) == (
        f"An error occurred (NoSuchEntity) when calling the GetRole operation: The role with name {name} cannot be found."
    )


def test_cli_create_attach_list_policy(aws, tmp_path):
    user, pname = uniq("att"), uniq("InvokeNova")
    policy = doc(allow("bedrock:InvokeModel", MODEL_A))
    f = tmp_path / "p.json"
    f.write_text(json.dumps(policy, indent=2))
    assert aws("iam", "create-user", "--user-name", user)[0] == 0
    rc, out, err = aws("iam", "create-policy", "--policy-name", pname, "--policy-document", f"file://{f}",
                       "--description", "invoke one model")
    assert rc == 0, err
    p = json.loads(out)["Policy"]
    arn = f"{IAM_NS_ARN}:policy/{pname}"
    assert (p["PolicyName"], p["Arn"], p["Path"], p["DefaultVersionId"]) == (pname, arn, "/", "v1")
    assert (p["AttachmentCount"], p["PermissionsBoundaryUsageCount"], p["IsAttachable"]) == (0, 0, True)
    assert re.fullmatch(r"ANPA[A-Z2-7]{17}", p["PolicyId"])
    assert DATE.match(p["CreateDate"]) and DATE.match(p["UpdateDate"])

    rc, _, err = aws("iam", "attach-user-policy", "--user-name", user, "--policy-arn", arn)
    assert rc == 0, err
    rc, out, err = aws("iam", "list-attached-user-policies", "--user-name", user)
    assert rc == 0, err
    assert json.loads(out)["AttachedPolicies"] == [{"PolicyName": pname, "PolicyArn": arn}]

    rc, out, _ = aws("iam", "get-policy", "--policy-arn", arn)
    got = json.loads(out)["Policy"]
    assert (got["AttachmentCount"], got["Description"]) == (1, "invoke one model")
    rc, out, _ = aws("iam", "get-policy-version", "--policy-arn", arn, "--version-id", "v1")
    v = json.loads(out)["PolicyVersion"]
    assert (v["Document"], v["VersionId"], v["IsDefaultVersion"]) == (policy, "v1", True)

    rc, _, err = aws("iam", "delete-policy", "--policy-arn", arn)
    assert cli_error(err) == (
        "An error occurred (DeleteConflict) when calling the DeletePolicy operation: "
        "Cannot delete a policy attached to entities."
    )
    assert aws("iam", "detach-user-policy", "--user-name", user, "--policy-arn", arn)[0] == 0
    rc, out, _ = aws("iam", "list-attached-user-policies", "--user-name", user)
    assert json.loads(out)["AttachedPolicies"] == []
    rc, _, err = aws("iam", "detach-user-policy", "--user-name", user, "--policy-arn", arn)
    assert cli_error(err) == (
        f"An error occurred (NoSuchEntity) when calling the DetachUserPolicy operation: Policy {arn} was not found."
    )
    assert aws("iam", "delete-policy", "--policy-arn", arn)[0] == 0
    rc, _, err = aws("iam", "get-policy", "--policy-arn", arn)
    assert cli_error(err) == (
        f"An error occurred (NoSuchEntity) when calling the GetPolicy operation: Policy {arn} was not found."
    )


def test_cli_attach_missing_policy(aws):
    user = uniq("miss")
    assert aws("iam", "create-user", "--user-name", user)[0] == 0
    arn = f"{IAM_NS_ARN}:policy/{uniq('Nope')}"
    rc, _, err = aws("iam", "attach-user-policy", "--user-name", user, "--policy-arn", arn)
    assert cli_error(err) == (
        f"An error occurred (NoSuchEntity) when calling the AttachUserPolicy operation: "
        f"Policy {arn} does not exist or is not attachable."
    )
    rc, _, err = aws("iam", "attach-user-policy", "--user-name", user, "--policy-arn", "arn:aws:iam::policy/x")
    assert cli_error(err) == (
        "An error occurred (InvalidInput) when calling the AttachUserPolicy operation: ARN arn:aws:iam::policy/x is not valid."
    )


def test_cli_put_get_user_policy_round_trip(aws, tmp_path):
    user = uniq("inline")
    policy = doc(
        {"Sid": "Invoke", "Effect": "Allow", "Action": ["bedrock:InvokeModel", "bedrock:Converse*"],
         "Resource": "arn:aws:bedrock:*::foundation-model/*",
         "Condition": {"StringEquals": {"aws:RequestedRegion": "us-east-1"}}}
    )
    f = tmp_path / "inline.json"
    f.write_text(json.dumps(policy))
    assert aws("iam", "create-user", "--user-name", user)[0] == 0
    rc, _, err = aws("iam", "put-user-policy", "--user-name", user, "--policy-name", "invoke",
                     "--policy-document", f"file://{f}")
    assert rc == 0, err
    rc, out, err = aws("iam", "get-user-policy", "--user-name", user, "--policy-name", "invoke")
    assert rc == 0, err
    assert json.loads(out) == {"UserName": user, "PolicyName": "invoke", "PolicyDocument": policy}
    rc, out, _ = aws("iam", "list-user-policies", "--user-name", user)
    assert json.loads(out)["PolicyNames"] == ["invoke"]
    rc, _, err = aws("iam", "get-user-policy", "--user-name", user, "--policy-name", "other")
    assert cli_error(err) == (
        "An error occurred (NoSuchEntity) when calling the GetUserPolicy operation: "
        "The user policy with name other cannot be found."
    )
    assert aws("iam", "delete-user-policy", "--user-name", user, "--policy-name", "invoke")[0] == 0
    rc, out, _ = aws("iam", "list-user-policies", "--user-name", user)
    assert json.loads(out)["PolicyNames"] == []


def test_cli_malformed_policy_document(aws, tmp_path):
    user = uniq("malformed")
    assert aws("iam", "create-user", "--user-name", user)[0] == 0
    f = tmp_path / "principal.json"
    f.write_text(json.dumps(doc({**allow("s3:GetObject"), "Principal": {"AWS": "*"}})))
    rc, _, err = aws("iam", "put-user-policy", "--user-name", user, "--policy-name", "p",
                     "--policy-document", f"file://{f}")
    assert rc != 0
    assert cli_error(err) == (
        "An error occurred (MalformedPolicyDocument) when calling the PutUserPolicy operation: "
        "Policy document should not specify a principal."
    )
    f.write_text('{"Version": "2012-10-17", "Statement": [')
    rc, _, err = aws("iam", "create-policy", "--policy-name", uniq("bad"), "--policy-document", f"file://{f}")
    assert cli_error(err) == (
        "An error occurred (MalformedPolicyDocument) when calling the CreatePolicy operation: Syntax errors in policy."
    )


def test_cli_create_role_with_trust_policy(aws, tmp_path):
    role = uniq("role")
    trust = doc({"Effect": "Allow", "Principal": {"AWS": f"{IAM_NS_ARN}:root"}, "Action": "sts:AssumeRole"})
    f = tmp_path / "trust.json"
    f.write_text(json.dumps(trust))
    rc, out, err = aws("iam", "create-role", "--role-name", role, "--assume-role-policy-document", f"file://{f}",
                       "--description", "test role", "--max-session-duration", "7200")
    assert rc == 0, err
    r = json.loads(out)["Role"]
    assert (r["RoleName"], r["Arn"], r["Path"]) == (role, f"{IAM_NS_ARN}:role/{role}", "/")
    assert re.fullmatch(r"AROA[A-Z2-7]{17}", r["RoleId"])
    assert r["AssumeRolePolicyDocument"] == trust
    rc, out, err = aws("iam", "get-role", "--role-name", role)
    assert rc == 0, err
    g = json.loads(out)["Role"]
    assert g["AssumeRolePolicyDocument"] == trust
    assert (g["MaxSessionDuration"], g["Description"], g["RoleLastUsed"]) == (7200, "test role", {})

    rc, _, err = aws("iam", "create-role", "--role-name", role, "--assume-role-policy-document", f"file://{f}")
    assert cli_error(err) == (
        f"An error occurred (EntityAlreadyExists) when calling the CreateRole operation: Role with name {role} already exists."
    )
    # A trust policy must name a principal and must not name a resource.
    f.write_text(json.dumps(doc({"Effect": "Allow", "Action": "sts:AssumeRole"})))
    rc, _, err = aws("iam", "create-role", "--role-name", uniq("r"), "--assume-role-policy-document", f"file://{f}")
    assert cli_error(err) == (
        "An error occurred (MalformedPolicyDocument) when calling the CreateRole operation: Missing required field Principal"
    )
    f.write_text(json.dumps(doc({"Effect": "Allow", "Principal": {"AWS": f"{IAM_NS_ARN}:root"},
                                 "Action": "sts:AssumeRole", "Resource": "*"})))
    rc, _, err = aws("iam", "create-role", "--role-name", uniq("r"), "--assume-role-policy-document", f"file://{f}")
    assert cli_error(err) == (
        "An error occurred (MalformedPolicyDocument) when calling the CreateRole operation: Has prohibited field Resource"
    )
    ghost = f"{IAM_NS_ARN}:user/{uniq('ghost')}"
    f.write_text(json.dumps(doc({"Effect": "Allow", "Principal": {"AWS": ghost}, "Action": "sts:AssumeRole"})))
    rc, _, err = aws("iam", "create-role", "--role-name", uniq("r"), "--assume-role-policy-document", f"file://{f}")
    assert cli_error(err) == (
        "An error occurred (MalformedPolicyDocument) when calling the CreateRole operation: "
        f'Invalid principal in policy: "AWS":"{ghost}"'
    )


def test_cli_tags(aws):
    user = uniq("tagged")
    rc, out, err = aws("iam", "create-user", "--user-name", user, "--tags", "Key=team,Value=red")
    assert rc == 0, err
    assert json.loads(out)["User"]["Tags"] == [{"Key": "team", "Value": "red"}]
    assert aws("iam", "tag-user", "--user-name", user, "--tags", "Key=env,Value=dev", "Key=Team,Value=blue")[0] == 0
    rc, out, _ = aws("iam", "list-user-tags", "--user-name", user)
    assert json.loads(out)["Tags"] == [{"Key": "Team", "Value": "blue"}, {"Key": "env", "Value": "dev"}]
    assert aws("iam", "untag-user", "--user-name", user, "--tag-keys", "TEAM")[0] == 0
    rc, out, _ = aws("iam", "get-user", "--user-name", user)
    assert json.loads(out)["User"]["Tags"] == [{"Key": "env", "Value": "dev"}]

    role = uniq("tagrole")
    trust = json.dumps(doc({"Effect": "Allow", "Principal": {"Service": "bedrock.amazonaws.com"}, "Action": "sts:AssumeRole"}))
    assert aws("iam", "create-role", "--role-name", role, "--assume-role-policy-document", trust)[0] == 0
    assert aws("iam", "tag-role", "--role-name", role, "--tags", "Key=cost,Value=42")[0] == 0
    rc, out, _ = aws("iam", "get-role", "--role-name", role)
    assert json.loads(out)["Role"]["Tags"] == [{"Key": "cost", "Value": "42"}]


# ---------------------------------------------------------------- authorization of IAM calls


def test_user_without_policies_is_denied_until_admin(iam, new_user):
    name, arn, make_client = new_user("nopol")
    mine = make_client("iam")
    target = uniq("victim")
    with pytest.raises(ClientError) as ei:
        mine.create_user(UserName=target)
    assert error_of(ei) == (
        "AccessDenied",
        403,
        f"User: {arn} is not authorized to perform: iam:CreateUser on resource: {IAM_NS_ARN}:user/{target} "
        "because no identity-based policy allows the iam:CreateUser action",
    )
    with pytest.raises(ClientError) as ei:
        mine.list_policies()
    assert error_of(ei)[2] == (
        f"User: {arn} is not authorized to perform: iam:ListPolicies on resource: policy path / "
        "because no identity-based policy allows the iam:ListPolicies action"
    )
    # A user may read itself only if allowed, too.
    with pytest.raises(ClientError) as ei:
        mine.get_user()
    assert error_of(ei)[:2] == ("AccessDenied", 403)

    iam.attach_user_policy(UserName=name, PolicyArn=ADMIN)
    r = mine.create_user(UserName=target)
    assert r["User"]["Arn"] == f"{IAM_NS_ARN}:user/{target}"
    assert mine.get_user()["User"]["UserName"] == name


def test_explicit_deny_and_group_policies(iam, new_user):
    group = uniq("readers")
    name, arn, make_client = new_user("grp", policies=[doc(deny("iam:DeleteUser"))])
    mine = make_client("iam")
    with pytest.raises(ClientError) as ei:
        mine.list_users()
    assert error_of(ei)[2] == (
        f"User: {arn} is not authorized to perform: iam:ListUsers on resource: {IAM_NS_ARN}:user/ "
        "because no identity-based policy allows the iam:ListUsers action"
    )
    g = iam.create_group(GroupName=group)["Group"]
    assert (g["GroupName"], g["Arn"], g["Path"]) == (group, f"{IAM_NS_ARN}:group/{group}", "/")
    assert g["GroupId"].startswith("AGPA")
    iam.add_user_to_group(GroupName=group, UserName=name)
    iam.attach_group_policy(GroupName=group, PolicyArn=ADMIN)
    got = iam.get_group(GroupName=group)
    assert [u["UserName"] for u in got["Users"]] == [name]
    assert any(u["UserName"] == name for u in mine.list_users()["Users"])
    # The explicit deny in the user's inline policy still wins over the group's admin.
    with pytest.raises(ClientError) as ei:
        mine.delete_user(UserName=name)
    assert error_of(ei) == (
        "AccessDenied",
        403,
        f"User: {arn} is not authorized to perform: iam:DeleteUser on resource: {arn} "
        "with an explicit deny in an identity-based policy",
    )
    with pytest.raises(ClientError) as ei:
        iam.delete_group(GroupName=group)
    assert error_of(ei) == ("DeleteConflict", 409, "Cannot delete entity, must remove users from group first.")
    iam.remove_user_from_group(GroupName=group, UserName=name)
    assert iam.get_group(GroupName=group)["Users"] == []
    with pytest.raises(ClientError):
        mine.list_users()


def test_permissions_boundary_limits(iam, new_user):
    name, arn, make_client = new_user("bounded", attach=[ADMIN])
    mine = make_client("iam")
    mine.list_users()
    iam.put_user_permissions_boundary(UserName=name, PermissionsBoundary=BEDROCK_RO)
    u = iam.get_user(UserName=name)["User"]
    assert u["PermissionsBoundary"] == {"PermissionsBoundaryType": "Policy", "PermissionsBoundaryArn": BEDROCK_RO}
    with pytest.raises(ClientError) as ei:
        mine.list_users()
    assert error_of(ei)[2] == (
        f"User: {arn} is not authorized to perform: iam:ListUsers on resource: {IAM_NS_ARN}:user/ "
        "because no permissions boundary allows the iam:ListUsers action"
    )
    assert iam.get_policy(PolicyArn=BEDROCK_RO)["Policy"]["PermissionsBoundaryUsageCount"] >= 1
    iam.delete_user_permissions_boundary(UserName=name)
    mine.list_users()


# ---------------------------------------------------------------- errors and quotas


def test_missing_required_member_is_validation_error(client):
    raw = client("iam", config=retry_config(parameter_validation=False))
    with pytest.raises(ClientError) as ei:
        raw.create_user()
    assert error_of(ei) == (
        "ValidationError",
        400,
        "1 validation error detected: Value null at 'userName' failed to satisfy constraint: Member must not be null",
    )
    with pytest.raises(ClientError) as ei:
        raw.create_user(UserName="bad name")
    assert error_of(ei) == (
        "ValidationError",
        400,
        "1 validation error detected: Value 'bad name' at 'userName' failed to satisfy constraint: "
        r"Member must satisfy regular expression pattern: [\w+=,.@-]+",
    )


def test_access_key_quota_and_delete_conflict(iam):
    name = uniq("keys")
    iam.create_user(UserName=name)
    k1 = iam.create_access_key(UserName=name)["AccessKey"]["AccessKeyId"]
    iam.create_access_key(UserName=name)
    with pytest.raises(ClientError) as ei:
        iam.create_access_key(UserName=name)
    assert error_of(ei) == ("LimitExceeded", 409, "Cannot exceed quota for AccessKeysPerUser: 2")
    with pytest.raises(ClientError) as ei:
        iam.delete_user(UserName=name)
    assert error_of(ei) == ("DeleteConflict", 409, "Cannot delete entity, must delete access keys first.")
    iam.update_access_key(UserName=name, AccessKeyId=k1, Status="Inactive")
    meta = {m["AccessKeyId"]: m["Status"] for m in iam.list_access_keys(UserName=name)["AccessKeyMetadata"]}
    assert meta[k1] == "Inactive" and len(meta) == 2
    for k in meta:
        iam.delete_access_key(UserName=name, AccessKeyId=k)
    with pytest.raises(ClientError) as ei:
        iam.delete_access_key(UserName=name, AccessKeyId=k1)
    assert error_of(ei) == ("NoSuchEntity", 404, f"The Access Key with id {k1} cannot be found.")
    iam.put_user_policy(UserName=name, PolicyName="p", PolicyDocument=json.dumps(doc(allow("s3:*"))))
    with pytest.raises(ClientError) as ei:
        iam.delete_user(UserName=name)
    assert error_of(ei) == ("DeleteConflict", 409, "Cannot delete entity, must delete policies first.")
    iam.delete_user_policy(UserName=name, PolicyName="p")
    iam.attach_user_policy(UserName=name, PolicyArn=BEDROCK_RO)
    with pytest.raises(ClientError) as ei:
        iam.delete_user(UserName=name)
    assert error_of(ei) == ("DeleteConflict", 409, "Cannot delete entity, must detach all policies first.")
    iam.detach_user_policy(UserName=name, PolicyArn=BEDROCK_RO)
    iam.delete_user(UserName=name)
    with pytest.raises(ClientError) as ei:
        iam.get_user(UserName=name)
    assert error_of(ei) == ("NoSuchEntity", 404, f"The user with name {name} cannot be found.")


def test_inactive_key_is_refused(iam, client):
    name = uniq("inactive")
    iam.create_user(UserName=name)
    k = iam.create_access_key(UserName=name)["AccessKey"]
    iam.update_access_key(UserName=name, AccessKeyId=k["AccessKeyId"], Status="Inactive")
    sts = client("sts", aws_access_key_id=k["AccessKeyId"], aws_secret_access_key=k["SecretAccessKey"])
    with pytest.raises(ClientError) as ei:
        sts.get_caller_identity()
    assert error_of(ei) == ("InvalidClientTokenId", 403, "The security token included in the request is invalid.")


def test_policy_versions(iam):
    name = uniq("versioned")
    arn = iam.create_policy(PolicyName=name, PolicyDocument=json.dumps(doc(allow("s3:GetObject"))))["Policy"]["Arn"]
    with pytest.raises(ClientError) as ei:
        iam.create_policy(PolicyName=name, PolicyDocument=json.dumps(doc(allow("s3:GetObject"))))
    assert error_of(ei) == (
        "EntityAlreadyExists", 409, f"A policy called {name} already exists. Duplicate names are not allowed."
    )
    for i in range(2, 6):
        v = iam.create_policy_version(PolicyArn=arn, PolicyDocument=json.dumps(doc(allow(f"s3:Get{i}"))),
                                      SetAsDefault=(i == 3))["PolicyVersion"]
        assert (v["VersionId"], v["IsDefaultVersion"]) == (f"v{i}", i == 3)
    with pytest.raises(ClientError) as ei:
        iam.create_policy_version(PolicyArn=arn, PolicyDocument=json.dumps(doc(allow("s3:Get6"))))
    assert error_of(ei) == (
        "LimitExceeded",
        409,
        "A managed policy can have up to 5 versions. Before you create a new version, you must delete an existing version.",
    )
    p = iam.get_policy(PolicyArn=arn)["Policy"]
    assert p["DefaultVersionId"] == "v3"
    assert iam.get_policy_version(PolicyArn=arn, VersionId="v3")["PolicyVersion"]["Document"] == doc(allow("s3:Get3"))
    assert [v["VersionId"] for v in iam.list_policy_versions(PolicyArn=arn)["Versions"]] == ["v5", "v4", "v3", "v2", "v1"]
    with pytest.raises(ClientError) as ei:
        iam.delete_policy(PolicyArn=arn)
    assert error_of(ei) == (
        "DeleteConflict",
        409,
        "This policy has more than one version. Before you delete a policy, you must delete the policy's versions. "
        "The default version is deleted with the policy.",
    )
    with pytest.raises(ClientError) as ei:
        iam.delete_policy_version(PolicyArn=arn, VersionId="v3")
    assert error_of(ei) == ("DeleteConflict", 409, "Cannot delete the default version of a policy.")
    for v in ("v1", "v2", "v4", "v5"):
        iam.delete_policy_version(PolicyArn=arn, VersionId=v)
    iam.delete_policy(PolicyArn=arn)


def test_list_policies_scope(iam):
    name = uniq("local")
    arn = iam.create_policy(PolicyName=name, Path="/team/", PolicyDocument=json.dumps(doc(allow("s3:*"))))["Policy"]["Arn"]
    assert arn == f"{IAM_NS_ARN}:policy/team/{name}"
    local = [p["Arn"] for p in iam.list_policies(Scope="Local", MaxItems=1000)["Policies"]]
    assert arn in local and ADMIN not in local
    aws_managed = [p["Arn"] for p in iam.list_policies(Scope="AWS")["Policies"]]
    assert {ADMIN, BEDROCK_RO} <= set(aws_managed) and arn not in aws_managed
    assert [p["Arn"] for p in iam.list_policies(Scope="Local", PathPrefix="/team/")["Policies"]] == [arn]
    paginator = iam.get_paginator("list_policies")
    pages = list(paginator.paginate(Scope="All", PaginationConfig={"PageSize": 1}))
    arns = [p["Arn"] for page in pages for p in page["Policies"]]
    assert len(pages) == len(arns) and {ADMIN, arn} <= set(arns)


# ---------------------------------------------------------------- STS AssumeRole


def trust_naming(*arns):
    return json.dumps(doc({"Effect": "Allow", "Principal": {"AWS": list(arns)}, "Action": "sts:AssumeRole"}))


def test_assume_role_with_session_policy(iam, new_user, client):
    role = uniq("invoker")
    role_arn = f"{IAM_NS_ARN}:role/{role}"
    name, arn, make_client = new_user("assumer", policies=[doc(allow("sts:AssumeRole", role_arn))])
    r = iam.create_role(RoleName=role, AssumeRolePolicyDocument=trust_naming(arn))["Role"]
    iam.attach_role_policy(RoleName=role, PolicyArn=ADMIN)
    assert iam.list_attached_role_policies(RoleName=role)["AttachedPolicies"] == [
        {"PolicyName": "AdministratorAccess", "PolicyArn": ADMIN}
    ]
    session_policy = json.dumps(doc(allow("iam:GetRole")))
    before = datetime.datetime.now(datetime.timezone.utc)
    out = make_client("sts").assume_role(RoleArn=role_arn, RoleSessionName="build-42", Policy=session_policy)
    creds = out["Credentials"]
    assert re.fullmatch(r"ASIA[A-Z2-7]{16}", creds["AccessKeyId"])
    assert len(creds["SecretAccessKey"]) == 40 and len(creds["SessionToken"]) > 100
    left = (creds["Expiration"] - before).total_seconds()
    assert 3590 <= left <= 3610
    assert out["AssumedRoleUser"] == {
        "AssumedRoleId": f"{r['RoleId']}:build-42",
        "Arn": f"arn:aws:sts::{ACCOUNT}:assumed-role/{role}/build-42",
    }
    assert 0 < out["PackedPolicySize"] <= 100

    session = dict(aws_access_key_id=creds["AccessKeyId"], aws_secret_access_key=creds["SecretAccessKey"],
                   aws_session_token=creds["SessionToken"])
    who = client("sts", **session).get_caller_identity()
    assert (who["Arn"], who["UserId"], who["Account"]) == (
        f"arn:aws:sts::{ACCOUNT}:assumed-role/{role}/build-42",
        f"{r['RoleId']}:build-42",
        ACCOUNT,
    )
    # The session policy narrows the role's AdministratorAccess to iam:GetRole.
    s_iam = client("iam", **session)
    assert s_iam.get_role(RoleName=role)["Role"]["Arn"] == role_arn
    with pytest.raises(ClientError) as ei:
        s_iam.list_users()
    assert error_of(ei) == (
        "AccessDenied",
        403,
        f"User: arn:aws:sts::{ACCOUNT}:assumed-role/{role}/build-42 is not authorized to perform: iam:ListUsers "
        f"on resource: {IAM_NS_ARN}:user/ because no session policy allows the iam:ListUsers action",
    )
    # Managed policies as session policies: AmazonBedrockReadOnly allows no IAM action.
    ro = make_client("sts").assume_role(RoleArn=role_arn, RoleSessionName="ro", PolicyArns=[{"arn": BEDROCK_RO}])
    rc = ro["Credentials"]
    ro_iam = client("iam", aws_access_key_id=rc["AccessKeyId"], aws_secret_access_key=rc["SecretAccessKey"],
                    aws_session_token=rc["SessionToken"])
    with pytest.raises(ClientError) as ei:
        ro_iam.get_role(RoleName=role)
    assert error_of(ei)[2].endswith("because no session policy allows the iam:GetRole action")
    missing = f"{IAM_NS_ARN}:policy/{uniq('absent')}"
    with pytest.raises(ClientError) as ei:
        make_client("sts").assume_role(RoleArn=role_arn, RoleSessionName="x1", PolicyArns=[{"arn": missing}])
    assert error_of(ei) == ("ValidationError", 400, f"Policy {missing} does not exist or is not attachable.")
    # The session token is required with session credentials.
    no_token = client("sts", aws_access_key_id=creds["AccessKeyId"], aws_secret_access_key=creds["SecretAccessKey"])
    with pytest.raises(ClientError) as ei:
        no_token.get_caller_identity()
    assert error_of(ei)[:2] == ("InvalidClientTokenId", 403)


def test_assume_role_trust_rules(iam, new_user):
    role_user, role_account = uniq("trusts-user"), uniq("trusts-account")
    # trusted directly, no identity policy: allowed (same account)
    direct_name, direct_arn, direct_client = new_user("direct")
    iam.create_role(RoleName=role_user, AssumeRolePolicyDocument=trust_naming(direct_arn))
    out = direct_client("sts").assume_role(RoleArn=f"{IAM_NS_ARN}:role/{role_user}", RoleSessionName="s1")
    assert out["AssumedRoleUser"]["Arn"].endswith(f"assumed-role/{role_user}/s1")

    # trust names the account: an identity allow is needed as well
    iam.create_role(RoleName=role_account, AssumeRolePolicyDocument=trust_naming(f"{IAM_NS_ARN}:root"))
    role_arn = f"{IAM_NS_ARN}:role/{role_account}"
    _, bare_arn, bare_client = new_user("bare")
    with pytest.raises(ClientError) as ei:
        bare_client("sts").assume_role(RoleArn=role_arn, RoleSessionName="s2")
    assert error_of(ei) == (
        "AccessDenied",
        403,
        f"User: {bare_arn} is not authorized to perform: sts:AssumeRole on resource: {role_arn}",
    )
    _, _, allowed_client = new_user("allowed", policies=[doc(allow("sts:AssumeRole", role_arn))])
    assert allowed_client("sts").assume_role(RoleArn=role_arn, RoleSessionName="s3")["Credentials"]

    # an identity allow without the trust policy naming the caller (or its account) is refused
    _, untrusted_arn, untrusted_client = new_user("untrusted", policies=[doc(allow("sts:AssumeRole"))])
    with pytest.raises(ClientError) as ei:
        untrusted_client("sts").assume_role(RoleArn=f"{IAM_NS_ARN}:role/{role_user}", RoleSessionName="s4")
    assert error_of(ei) == (
        "AccessDenied",
        403,
        f"User: {untrusted_arn} is not authorized to perform: sts:AssumeRole on resource: {IAM_NS_ARN}:role/{role_user}",
    )
    # a role that does not exist is refused the same way
    ghost = f"{IAM_NS_ARN}:role/{uniq('ghost')}"
    with pytest.raises(ClientError) as ei:
        untrusted_client("sts").assume_role(RoleArn=ghost, RoleSessionName="s5")
    assert error_of(ei) == (
        "AccessDenied",
        403,
        f"User: {untrusted_arn} is not authorized to perform: sts:AssumeRole on resource: {ghost}",
    )


def test_assume_role_cross_account(iam, client):
    """Across accounts both sides must allow: the trust policy and the caller's identity policy."""
    other = "111111111111"  # the scenario's second account; its root key is below
    root1 = client("iam", aws_access_key_id="AKIAROOTEXAMPLE00001", aws_secret_access_key="root-secret-key")
    name = uniq("xacct")
    root1.create_user(UserName=name)
    assert root1.get_user(UserName=name)["User"]["Arn"] == f"arn:aws:iam::{other}:user/{name}"
    k = root1.create_access_key(UserName=name)["AccessKey"]
    sts = client("sts", aws_access_key_id=k["AccessKeyId"], aws_secret_access_key=k["SecretAccessKey"])
    user_arn = f"arn:aws:iam::{other}:user/{name}"

    role = uniq("shared")
    role_arn = f"{IAM_NS_ARN}:role/{role}"
    iam.create_role(RoleName=role, AssumeRolePolicyDocument=trust_naming(user_arn))
    # trusted by name, but no identity allow in its own account: refused
    with pytest.raises(ClientError) as ei:
        sts.assume_role(RoleArn=role_arn, RoleSessionName="x1")
    assert error_of(ei) == (
        "AccessDenied", 403, f"User: {user_arn} is not authorized to perform: sts:AssumeRole on resource: {role_arn}"
    )
    root1.put_user_policy(UserName=name, PolicyName="assume", PolicyDocument=json.dumps(doc(allow("sts:AssumeRole", role_arn))))
    out = sts.assume_role(RoleArn=role_arn, RoleSessionName="x2")
    assert out["AssumedRoleUser"]["Arn"] == f"arn:aws:sts::{ACCOUNT}:assumed-role/{role}/x2"
    c = out["Credentials"]
    who = client("sts", aws_access_key_id=c["AccessKeyId"], aws_secret_access_key=c["SecretAccessKey"],
                 aws_session_token=c["SessionToken"]).get_caller_identity()
    assert who["Account"] == ACCOUNT

    # an identity allow but a trust policy that names another account: refused
    role2 = uniq("private")
    iam.create_role(RoleName=role2, AssumeRolePolicyDocument=trust_naming(f"{IAM_NS_ARN}:root"))
    root1.put_user_policy(UserName=name, PolicyName="all", PolicyDocument=json.dumps(doc(allow("sts:AssumeRole"))))
    with pytest.raises(ClientError) as ei:
        sts.assume_role(RoleArn=f"{IAM_NS_ARN}:role/{role2}", RoleSessionName="x3")
    assert error_of(ei)[:2] == ("AccessDenied", 403)


def test_assume_role_refusals(iam, new_user, client):
    role = uniq("short")
    role_arn = f"{IAM_NS_ARN}:role/{role}"
    _, arn, make_client = new_user("dur")
    iam.create_role(RoleName=role, AssumeRolePolicyDocument=trust_naming(arn))
    sts = make_client("sts")
    with pytest.raises(ClientError) as ei:
        sts.assume_role(RoleArn=role_arn, RoleSessionName="s0", DurationSeconds=7200)
    assert error_of(ei) == (
        "ValidationError",
        400,
        "The requested DurationSeconds exceeds the MaxSessionDuration set for this role.",
    )
    with pytest.raises(ClientError) as ei:
        sts.assume_role(RoleArn=role_arn, RoleSessionName="s0", DurationSeconds=50000)
    assert error_of(ei) == (
        "ValidationError",
        400,
        "1 validation error detected: Value '50000' at 'durationSeconds' failed to satisfy constraint: "
        "Member must have value less than or equal to 43200",
    )
    iam.update_role(RoleName=role, MaxSessionDuration=7200)
    out = sts.assume_role(RoleArn=role_arn, RoleSessionName="long", DurationSeconds=7200)
    left = (out["Credentials"]["Expiration"] - datetime.datetime.now(datetime.timezone.utc)).total_seconds()
    assert 7190 <= left <= 7210

    with pytest.raises(ClientError) as ei:
        sts.assume_role(RoleArn=role_arn, RoleSessionName="s0", Policy=json.dumps(doc({"Effect": "Allow"})))
    assert error_of(ei) == ("MalformedPolicyDocument", 400, "Policy statement must contain actions.")
    big = json.dumps(doc(*[allow(f"s3:GetObject{i:04d}") for i in range(60)]))
    with pytest.raises(ClientError) as ei:
        sts.assume_role(RoleArn=role_arn, RoleSessionName="s0", Policy=big)
    code, status, message = error_of(ei)
    assert (code, status) == ("PackedPolicyTooLarge", 400)
    assert re.fullmatch(r"Packed policy consumes \d+% of allotted space, please use smaller policy\.", message)

    with pytest.raises(ClientError) as ei:
        client("sts").assume_role(RoleArn=role_arn, RoleSessionName="root")
    assert error_of(ei) == ("AccessDenied", 403, "Roles may not be assumed by root accounts.")


def test_role_chaining_limits_duration(iam, new_user, client):
    first, second = uniq("first"), uniq("second")
    _, arn, make_client = new_user("chain")
    iam.create_role(RoleName=first, AssumeRolePolicyDocument=trust_naming(arn))
    iam.put_role_policy(RoleName=first, PolicyName="chain",
                        PolicyDocument=json.dumps(doc(allow("sts:AssumeRole", f"{IAM_NS_ARN}:role/{second}"))))
    assert iam.get_role_policy(RoleName=first, PolicyName="chain")["PolicyDocument"]["Statement"][0]["Action"] == "sts:AssumeRole"
    iam.create_role(RoleName=second, AssumeRolePolicyDocument=trust_naming(f"{IAM_NS_ARN}:root"), MaxSessionDuration=7200)
    c = make_client("sts").assume_role(RoleArn=f"{IAM_NS_ARN}:role/{first}", RoleSessionName="one")["Credentials"]
    s1 = client("sts", aws_access_key_id=c["AccessKeyId"], aws_secret_access_key=c["SecretAccessKey"],
                aws_session_token=c["SessionToken"])
    with pytest.raises(ClientError) as ei:
        s1.assume_role(RoleArn=f"{IAM_NS_ARN}:role/{second}", RoleSessionName="two", DurationSeconds=7200)
    assert error_of(ei) == (
        "ValidationError",
        400,
        "The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining.",
    )
    out = s1.assume_role(RoleArn=f"{IAM_NS_ARN}:role/{second}", RoleSessionName="two")
    assert out["AssumedRoleUser"]["Arn"] == f"arn:aws:sts::{ACCOUNT}:assumed-role/{second}/two"


def test_session_credentials_expire(tmp_path, client):
    """On a server of its own, so that advancing its gate clock leaves the shared one alone."""
    from conftest import Server

    srv = Server(tmp_path / "state.db")
    try:
        iam = client("iam", endpoint_url=srv.url)
        name, role = uniq("exp"), uniq("exprole")
        iam.create_user(UserName=name)
        k = iam.create_access_key(UserName=name)["AccessKey"]
        iam.create_role(RoleName=role, AssumeRolePolicyDocument=trust_naming(f"{IAM_NS_ARN}:user/{name}"))
        sts = client("sts", endpoint_url=srv.url, aws_access_key_id=k["AccessKeyId"],
                     aws_secret_access_key=k["SecretAccessKey"])
        c = sts.assume_role(RoleArn=f"{IAM_NS_ARN}:role/{role}", RoleSessionName="brief",
                            DurationSeconds=900)["Credentials"]
        session = client("sts", endpoint_url=srv.url, aws_access_key_id=c["AccessKeyId"],
                         aws_secret_access_key=c["SecretAccessKey"], aws_session_token=c["SessionToken"])
        assert session.get_caller_identity()["Arn"] == f"arn:aws:sts::{ACCOUNT}:assumed-role/{role}/brief"
        req = srv.admin_request(f"/_bedrock-gates/clock?advance=901", "POST")
        urllib.request.urlopen(req).read()
        with pytest.raises(ClientError) as ei:
            session.get_caller_identity()
        assert error_of(ei) == ("ExpiredToken", 403, "The security token included in the request is expired")
        # long-term keys are unaffected
        assert sts.get_caller_identity()["Arn"] == f"{IAM_NS_ARN}:user/{name}"
    finally:
        srv.stop()


# ---------------------------------------------------------------- the policy simulator


def test_simulate_principal_policy(iam, new_user):
    name, arn, _ = new_user("sim", policies=[doc({"Sid": "One", **allow("bedrock:InvokeModel", MODEL_A)})])
    r = iam.simulate_principal_policy(PolicySourceArn=arn, ActionNames=["bedrock:InvokeModel"],
                                      ResourceArns=[MODEL_A, MODEL_B])
    results = r["EvaluationResults"]
    assert [(x["EvalActionName"], x["EvalResourceName"], x["EvalDecision"]) for x in results] == [
        ("bedrock:InvokeModel", MODEL_A, "allowed"),
        ("bedrock:InvokeModel", MODEL_B, "implicitDeny"),
    ]
    matched = results[0]["MatchedStatements"]
    assert [(m["SourcePolicyId"], m["SourcePolicyType"]) for m in matched] == [("p0", "user")]
    assert matched[0]["StartPosition"]["Line"] == 1
    assert results[1]["MatchedStatements"] == [] and results[1]["MissingContextValues"] == []

    iam.put_user_policy(UserName=name, PolicyName="deny", PolicyDocument=json.dumps(doc(deny("bedrock:*", MODEL_A))))
    r = iam.simulate_principal_policy(PolicySourceArn=arn, ActionNames=["bedrock:InvokeModel"], ResourceArns=[MODEL_A])
    x = r["EvaluationResults"][0]
    assert x["EvalDecision"] == "explicitDeny"
    assert [(m["SourcePolicyId"], m["SourcePolicyType"]) for m in x["MatchedStatements"]] == [("deny", "user")]

    # managed policies and boundaries
    role = uniq("simrole")
    role_arn = iam.create_role(RoleName=role, AssumeRolePolicyDocument=trust_naming(f"{IAM_NS_ARN}:root"),
                               PermissionsBoundary=BEDROCK_RO)["Role"]["Arn"]
    iam.attach_role_policy(RoleName=role, PolicyArn=ADMIN)
    r = iam.simulate_principal_policy(PolicySourceArn=role_arn,
                                      ActionNames=["bedrock:ListFoundationModels", "bedrock:InvokeModel"])
    got = [(x["EvalActionName"], x["EvalResourceName"], x["EvalDecision"],
            x["PermissionsBoundaryDecisionDetail"]["AllowedByPermissionsBoundary"]) for x in r["EvaluationResults"]]
    assert got == [
        ("bedrock:ListFoundationModels", "*", "allowed", True),
        ("bedrock:InvokeModel", "*", "implicitDeny", False),
    ]
    types = {(m["SourcePolicyId"], m["SourcePolicyType"]) for m in r["EvaluationResults"][0]["MatchedStatements"]}
    assert ("AdministratorAccess", "aws-managed") in types

    with pytest.raises(ClientError) as ei:
        iam.simulate_principal_policy(PolicySourceArn=f"{IAM_NS_ARN}:user/{uniq('nobody')}", ActionNames=["s3:GetObject"])
    assert error_of(ei)[:2] == ("NoSuchEntity", 404)


def test_simulate_principal_policy_needs_permission(new_user):
    _, arn, make_client = new_user("nosim")
    with pytest.raises(ClientError) as ei:
        make_client("iam").simulate_principal_policy(PolicySourceArn=arn, ActionNames=["s3:GetObject"])
    assert error_of(ei) == (
        "AccessDenied",
        403,
        f"User: {arn} is not authorized to perform: iam:SimulatePrincipalPolicy on resource: {arn} "
        "because no identity-based policy allows the iam:SimulatePrincipalPolicy action",
    )


def test_simulate_custom_policy(iam):
    allow_a = json.dumps(doc(allow("bedrock:InvokeModel", MODEL_A)))
    r = iam.simulate_custom_policy(PolicyInputList=[allow_a], ActionNames=["bedrock:InvokeModel"],
                                   ResourceArns=[MODEL_A, MODEL_B])
    assert [x["EvalDecision"] for x in r["EvaluationResults"]] == ["allowed", "implicitDeny"]
    assert [m["SourcePolicyId"] for m in r["EvaluationResults"][0]["MatchedStatements"]] == ["PolicyInputList.1"]

    deny_a = json.dumps(doc(deny("bedrock:Invoke*", MODEL_A)))
    r = iam.simulate_custom_policy(PolicyInputList=[allow_a, deny_a], ActionNames=["bedrock:InvokeModel"],
                                   ResourceArns=[MODEL_A])
    x = r["EvaluationResults"][0]
    assert x["EvalDecision"] == "explicitDeny"
    assert [m["SourcePolicyId"] for m in x["MatchedStatements"]] == ["PolicyInputList.2"]

    # a permissions boundary that does not allow the action
    r = iam.simulate_custom_policy(PolicyInputList=[allow_a], ActionNames=["bedrock:InvokeModel"], ResourceArns=[MODEL_A],
                                   PermissionsBoundaryPolicyInputList=[json.dumps(doc(allow("bedrock:Get*")))])
    x = r["EvaluationResults"][0]
    assert (x["EvalDecision"], x["PermissionsBoundaryDecisionDetail"]) == (
        "implicitDeny", {"AllowedByPermissionsBoundary": False}
    )

    # condition keys come from ContextEntries
    regional = json.dumps(doc({**allow("bedrock:InvokeModel"),
                               "Condition": {"StringEquals": {"aws:RequestedRegion": ["us-west-2"]}}}))
    kw = dict(PolicyInputList=[regional], ActionNames=["bedrock:InvokeModel"], ResourceArns=[MODEL_A])
    assert iam.simulate_custom_policy(**kw)["EvaluationResults"][0]["EvalDecision"] == "implicitDeny"
    entries = [{"ContextKeyName": "aws:RequestedRegion", "ContextKeyValues": ["us-west-2"], "ContextKeyType": "string"}]
    assert iam.simulate_custom_policy(**kw, ContextEntries=entries)["EvaluationResults"][0]["EvalDecision"] == "allowed"

    with pytest.raises(ClientError) as ei:
        iam.simulate_custom_policy(PolicyInputList=['{"Statement": ['], ActionNames=["s3:GetObject"])
    assert error_of(ei) == ("InvalidInput", 400, "Syntax errors in policy.")


def test_cli_simulate_custom_policy(aws):
    policy = json.dumps(doc(allow("bedrock:InvokeModel", MODEL_A)))
    rc, out, err = aws("iam", "simulate-custom-policy", "--policy-input-list", policy,
                       "--action-names", "bedrock:InvokeModel", "--resource-arns", MODEL_A, MODEL_B)
    assert rc == 0, err
    got = [(x["EvalResourceName"], x["EvalDecision"]) for x in json.loads(out)["EvaluationResults"]]
    assert got == [(MODEL_A, "allowed"), (MODEL_B, "implicitDeny")]


def audit_for(server, request_id):
    with urllib.request.urlopen(server.admin_request("/_bedrock-gates/audit")) as r:
        records = json.loads(r.read())["records"]
    return next(r for r in records if r["request_id"] == request_id)


def test_iam_and_sts_refusals_are_audited_with_their_gate(server, iam, new_user):
    """The IAM API's and STS's AccessDenied carry the IAM engine's diagnosis to the audit log,
    as Bedrock's refusals do: the gate, the layer that refused, and the fix."""
    name, arn, make_client = new_user("audited")
    target = uniq("victim")
    with pytest.raises(ClientError) as ei:
        make_client("iam").create_user(UserName=target)
    rec = audit_for(server, ei.value.response["ResponseMetadata"]["RequestId"])
    assert (rec["operation"], rec["error"], rec["status"], rec["gate"]) == ("CreateUser", "AccessDenied", 403, "iam")
    assert rec["reason"] == "no identity-based policy allows iam:CreateUser"
    assert rec["fix"] == f"add an Allow for iam:CreateUser on {IAM_NS_ARN}:user/{target} to the identity-based policy"

    # An AWS managed policy cannot be changed, whoever asks.
    with pytest.raises(ClientError) as ei:
        iam.create_policy_version(PolicyArn=BEDROCK_RO, PolicyDocument=json.dumps(doc(allow("s3:*"))))
    rec = audit_for(server, ei.value.response["ResponseMetadata"]["RequestId"])
    assert (rec["error"], rec["gate"]) == ("AccessDenied", "iam")
    assert rec["reason"] == f"{BEDROCK_RO} is an AWS managed policy: it belongs to AWS and cannot be changed"

    # A role that does not trust the caller.
    role = uniq("distrust")
    _, other_arn, _ = new_user("trusted")
    iam.create_role(RoleName=role, AssumeRolePolicyDocument=trust_naming(other_arn))
    with pytest.raises(ClientError) as ei:
        make_client("sts").assume_role(RoleArn=f"{IAM_NS_ARN}:role/{role}", RoleSessionName="s1")
    assert error_of(ei) == ("AccessDenied", 403,
                            f"User: {arn} is not authorized to perform: sts:AssumeRole on resource: "
                            f"{IAM_NS_ARN}:role/{role}")
    rec = audit_for(server, ei.value.response["ResponseMetadata"]["RequestId"])
    assert (rec["operation"], rec["gate"]) == ("AssumeRole", "iam")
    assert rec["fix"].startswith("check the role exists (aws iam get-role), that its trust policy names")
