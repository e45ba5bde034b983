"""Bots authenticate with their production code: azure-identity credentials get tokens from Switchboard over https,
the official SDK sends them, and a standard JWT library validates them against the keys Switchboard publishes."""

import datetime
import uuid

import httpx
import jwt
import pytest
from azure.core.exceptions import ClientAuthenticationError
from conftest import DEV_APP, DEV_SECRET, DEV_TENANT, GRAPH_SCOPE, admin, run, secret_credential, v1_client
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from msgraph.generated.communications.calls.item.transfer.transfer_post_request_body import TransferPostRequestBody
from msgraph.generated.models.identity import Identity
from msgraph.generated.models.identity_set import IdentitySet
from msgraph.generated.models.invitation_participant_info import InvitationParticipantInfo
from msgraph.generated.models.o_data_errors.o_data_error import ODataError

# Everything secret the tests see; none of it may reach the server's logs.
SEEN_SECRETS = [DEV_SECRET]


def transfer_body():
    return TransferPostRequestBody(
        transfer_target=InvitationParticipantInfo(identity=IdentitySet(user=Identity(id=str(uuid.uuid4()))))
    )


def test_client_secret_credential_gets_a_graph_token_that_validates_against_the_jwks(server):
    token = secret_credential(server).get_token(GRAPH_SCOPE).token
    SEEN_SECRETS.append(token)
    configuration = httpx.get(f"{server.base}/{DEV_TENANT}/v2.0/.well-known/openid-configuration", verify=server.ssl_context()).json()
    signing_key = jwt.PyJWKClient(configuration["jwks_uri"], ssl_context=server.ssl_context()).get_signing_key_from_jwt(token)
    claims = jwt.decode(token, signing_key.key, algorithms=["RS256"], audience="https://graph.microsoft.com",
                        issuer=configuration["issuer"])
    assert claims["tid"] == DEV_TENANT
    assert claims["appid"] == DEV_APP == claims["azp"]
    assert "Calls.Initiate.All" in claims["roles"]


def test_a_wrong_secret_is_refused_with_the_platform_error(server):
    with pytest.raises(ClientAuthenticationError) as raised:
        secret_credential(server, secret="not-the-secret").get_token(GRAPH_SCOPE)
    assert "AADSTS7000215" in str(raised.value)


def certificate_and_key():
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "switchboard-test-bot")])
    now = datetime.datetime.now(datetime.timezone.utc)
    certificate = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=30)).sign(key, hashes.SHA256())
    )
    certificate_pem = certificate.public_bytes(serialization.Encoding.PEM)
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    return certificate_pem, key_pem


def test_certificate_credentials_authenticate_with_a_client_assertion(server):
    from azure.identity import CertificateCredential

    created = admin(server, "POST", "/apps", {"tenantId": DEV_TENANT, "displayName": "Cert bot",
                                              "permissions": ["Calls.Initiate.All"], "createSecret": False})
    app_id = created["app"]["appId"]
    certificate_pem, key_pem = certificate_and_key()
    admin(server, "POST", f"/apps/{app_id}/certificates", {"pem": certificate_pem.decode()})
    credential = CertificateCredential(DEV_TENANT, app_id, certificate_data=certificate_pem + key_pem,
                                       authority=server.base, disable_instance_discovery=True,
                                       connection_verify=server.ca)
    token = credential.get_token(GRAPH_SCOPE).token
    SEEN_SECRETS.append(token)
    assert jwt.decode(token, options={"verify_signature": False})["appidacr"] == "2", "certificate authentication"

    async def scenario():
        graph = v1_client(server, credential)
        with pytest.raises(ODataError) as raised:
            await graph.communications.calls.by_call_id("c1").transfer.post(transfer_body())
        # Authenticated and authorised: the only thing wrong is that there is no call c1.
        assert raised.value.response_status_code == 404, raised.value.error.message

    run(scenario())


def test_missing_roles_and_missing_tokens_are_graph_errors(server):
    created = admin(server, "POST", "/apps", {"tenantId": DEV_TENANT, "displayName": "No roles"})
    secret = created["secret"]["value"]
    SEEN_SECRETS.append(secret)
    powerless = secret_credential(server, app=created["app"]["appId"], secret=secret)

    async def scenario():
        with pytest.raises(ODataError) as raised:
            await v1_client(server, powerless).communications.calls.by_call_id("c1").transfer.post(transfer_body())
        assert raised.value.response_status_code == 403
        assert raised.value.error.code == "7504"
        assert "Calls.Initiate.All" in raised.value.error.message

        from kiota_abstractions.authentication.anonymous_authentication_provider import AnonymousAuthenticationProvider
        from msgraph import GraphRequestAdapter, GraphServiceClient
        from msgraph_core import GraphClientFactory

        http = GraphClientFactory.create_with_default_middleware(client=httpx.AsyncClient(verify=server.ssl_context()))
        adapter = GraphRequestAdapter(AnonymousAuthenticationProvider(), client=http)
        adapter.base_url = f"{server.base}/v1.0"
        with pytest.raises(ODataError) as raised:
            await GraphServiceClient(request_adapter=adapter).communications.calls.by_call_id("c1").get()
        assert raised.value.response_status_code == 401
        assert raised.value.error.code == "InvalidAuthenticationToken"
        assert raised.value.error.message.startswith("Access token is empty. A Graph SDK sends no token"), raised.value.error.message

    run(scenario())


def test_secrets_and_tokens_never_reach_the_logs(server):
    """Runs last in this module: everything secret the tests above handled is checked against the debug-level log."""
    logs = server.logs()
    assert "token issued" in logs, "the log is the server's (and at debug level)"
    for secret in SEEN_SECRETS:
        assert secret not in logs, f"a secret or token ({secret[:6]}…) appears in the server log"
    assert DEV_SECRET in "".join(server.banner), "the dev secret is shown where it belongs: the banner, on stdout"
