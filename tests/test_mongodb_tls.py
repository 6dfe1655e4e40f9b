"""TLS and MONGODB-X509 on the simulated servers, driven by real pymongo, and the exporter's probe over them."""

from __future__ import annotations

import socket
import time
import urllib.parse
from collections.abc import Iterator
from pathlib import Path

import bson
import pymongo
import pytest
from pymongo.errors import OperationFailure, ServerSelectionTimeoutError

from exporter.config.config_file import ClusterConfig
from exporter.results.check_result import Status
from pbm_pmm_simulator import DEFAULT_USERS, PMM_USER_ROLES, SimReplicaSet, SimShardedCluster, SimTLS, SimUser
from tests.certs import Certs, make_certs
from tests.probing import probe_clusters, result

TIMEOUT_MS = 1000
# A client CN that needs RFC 4514 escaping: `,` `"` `+` `;` `<` `>` inside, `#` first and a space last.
ODD_CN = '#pmm, "exporter"+backup; <x> '


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> Certs:
    return make_certs(tmp_path_factory.mktemp("certs"))


@pytest.fixture(scope="module")
def other(tmp_path_factory: pytest.TempPathFactory) -> Certs:
    """A second CA (named like the first: never in one CAFile with it) whose client certificate has an odd subject."""
    return make_certs(tmp_path_factory.mktemp("other"), client_cn=ODD_CN)


def x509_user(subject: str) -> SimUser:
    return SimUser(subject, "", db="$external", roles=PMM_USER_ROLES, mechanisms=("MONGODB-X509",))


def q(value: object) -> str:
    return urllib.parse.quote_plus(str(value))


def x509_uri(rs: SimReplicaSet, ca: Path, client_pem: Path) -> str:
    """The URI form the README documents (everything spelled out, no helper)."""
    return (f"mongodb://{','.join(rs.hosts)}/?replicaSet={rs.name}&tls=true&tlsCAFile={q(ca)}"
            f"&tlsCertificateKeyFile={q(client_pem)}&authMechanism=MONGODB-X509&authSource=$external")


def client(uri: str) -> pymongo.MongoClient[dict[str, object]]:
    return pymongo.MongoClient(uri, serverSelectionTimeoutMS=TIMEOUT_MS, connectTimeoutMS=TIMEOUT_MS)


@pytest.fixture
def tls_rs(certs: Certs) -> Iterator[SimReplicaSet]:
    with SimReplicaSet(tls=SimTLS(certs.server_cert, certs.server_key)) as rs:
        yield rs


@pytest.fixture
def x509_rs(certs: Certs) -> Iterator[SimReplicaSet]:
    users = [x509_user(certs.client_subject), *DEFAULT_USERS]
    with SimReplicaSet(tls=SimTLS(certs.server_pem, None, ca_file=certs.ca), users=users) as rs:
        yield rs


# --- TLS ------------------------------------------------------------------------------------------------------


def test_tls_replica_set_with_scram(tls_rs: SimReplicaSet, certs: Certs) -> None:
    with client(tls_rs.uri(tls=True, tlsCAFile=str(certs.ca))) as c:
        agents = list(c.admin.pbmAgents.find())
        assert len(agents) == 3
        assert c.admin.command("hello")["setName"] == "rs0"
        deadline = time.monotonic() + 30  # discovering every member: a bound on what must happen, not a guess
        while set(c.nodes) != {("127.0.0.1", m.port) for m in tls_rs.members} and time.monotonic() < deadline:
            time.sleep(0.02)
        assert set(c.nodes) == {("127.0.0.1", m.port) for m in tls_rs.members}
        status = c.admin.command("connectionStatus")
        assert status["authInfo"]["authenticatedUsers"] == [{"user": "pmm", "db": "admin"}]


def test_tls_without_ca_file_fails_certificate_verification(tls_rs: SimReplicaSet) -> None:
    with client(tls_rs.uri(tls=True)) as c, pytest.raises(ServerSelectionTimeoutError) as exc_info:
        c.admin.command("ping")
    assert "certificate verify failed" in str(exc_info.value).lower()


def test_plain_tcp_client_against_tls_node_fails(tls_rs: SimReplicaSet) -> None:
    with client(tls_rs.uri()) as c, pytest.raises(ServerSelectionTimeoutError):
        c.admin.command("ping")
    # What the driver saw: the server drops a connection that does not start with a TLS handshake.
    hello = bson.encode({"hello": 1, "$db": "admin"})
    op_msg = (16 + 5 + len(hello)).to_bytes(4, "little") + (1).to_bytes(4, "little") + bytes(4)
    op_msg += (2013).to_bytes(4, "little") + bytes(4) + b"\x00" + hello
    with socket.create_connection(("127.0.0.1", tls_rs.members[0].port), timeout=2.0) as sock:
        sock.sendall(op_msg)
        try:
            data = sock.recv(4096)
        except ConnectionResetError:
            data = b""
    assert data == b""


def test_required_client_certificate(certs: Certs) -> None:
    tls = SimTLS(certs.server_cert, certs.server_key, ca_file=certs.ca, require_client_cert=True)
    with SimReplicaSet(tls=tls) as rs:
        with client(rs.uri(tls=True, tlsCAFile=str(certs.ca))) as c, pytest.raises(ServerSelectionTimeoutError):
            c.admin.command("ping")
        with client(rs.uri(tls=True, tlsCAFile=str(certs.ca), tlsCertificateKeyFile=str(certs.client_pem))) as c:
            assert len(list(c.admin.pbmAgents.find())) == 3


def test_require_client_cert_needs_a_ca(certs: Certs) -> None:
    with pytest.raises(ValueError, match="ca_file"):
        SimTLS(certs.server_cert, certs.server_key, require_client_cert=True)


def test_sharded_cluster_with_tls_and_x509(certs: Certs) -> None:
    tls = SimTLS(certs.server_cert, certs.server_key, ca_file=certs.ca)
    users = [*DEFAULT_USERS, x509_user(certs.client_subject)]
    with SimShardedCluster(tls=tls, users=users, members_per_shard=1, config_members=1) as cluster:
        ca = str(certs.ca)
        with client(cluster.uri(tls=True, tlsCAFile=ca)) as c:
            assert c.admin.command("listShards")["shards"][0]["_id"] == "shard0"
        x509 = (f"mongodb://{cluster.mongos.host}/?tls=true&tlsCAFile={q(ca)}"
                f"&tlsCertificateKeyFile={q(certs.client_pem)}&authMechanism=MONGODB-X509&authSource=$external")
        with client(x509) as c:
            status = c.admin.command("connectionStatus")
            assert status["authInfo"]["authenticatedUsers"] == [{"user": certs.client_subject, "db": "$external"}]
            assert len(list(c.admin.pbmAgents.find())) == 3
        with client(cluster.shards[1].uri(tls=True, tlsCAFile=ca)) as c:
            assert c.admin.command("hello")["setName"] == "shard1"
        with client(cluster.uri()) as c, pytest.raises(ServerSelectionTimeoutError):
            c.admin.command("ping")


# --- MONGODB-X509 -----------------------------------------------------------------------------------------------


def test_x509_authentication(x509_rs: SimReplicaSet, certs: Certs) -> None:
    with client(x509_uri(x509_rs, certs.ca, certs.client_pem)) as c:
        assert len(list(c.admin.pbmAgents.find())) == 3
        info = c.admin.command("connectionStatus", showPrivileges=True)["authInfo"]
        assert info["authenticatedUsers"] == [{"user": certs.client_subject, "db": "$external"}]
        assert {"role": "backup", "db": "admin"} in info["authenticatedUserRoles"]
        assert info["authenticatedUserPrivileges"]
    assert certs.client_subject == "CN=pmm-exporter,O=pmm-backup-prereq-exporter tests"
    # pymongo authenticated speculatively, inside the handshake hello: no separate authenticate command
    assert all("authenticate" not in m.commands_seen for m in x509_rs.members)
    specs = [body["speculativeAuthenticate"] for m in x509_rs.members for name, _, body in m.command_log
             if name.lower() in ("hello", "ismaster") and "speculativeAuthenticate" in body]
    assert specs and all(s["mechanism"] == "MONGODB-X509" for s in specs)


def test_x509_uri_helper_and_explicit_user(x509_rs: SimReplicaSet, certs: Certs) -> None:
    uri = x509_rs.uri(certs.client_subject, tls=True, tlsCAFile=str(certs.ca),
                      tlsCertificateKeyFile=str(certs.client_pem))
    assert "authMechanism=MONGODB-X509" in uri and "authSource=%24external" in uri and "@" not in uri
    with client(uri) as c:
        status = c.admin.command("connectionStatus")
        assert status["authInfo"]["authenticatedUsers"] == [{"user": certs.client_subject, "db": "$external"}]
    # a user name in the URI must be the certificate's subject
    wrong = (f"mongodb://{q('CN=someone else')}@{x509_rs.hosts[0]}/?directConnection=true&tls=true"
             f"&tlsCAFile={q(certs.ca)}&tlsCertificateKeyFile={q(certs.client_pem)}&authMechanism=MONGODB-X509")
    with client(wrong) as c, pytest.raises(OperationFailure) as exc_info:
        c.admin.command("ping")
    assert exc_info.value.code == 18


def test_authenticate_command(x509_rs: SimReplicaSet, certs: Certs) -> None:
    uri = x509_rs.members[0].uri(auth=False, tls=True, tlsCAFile=str(certs.ca),
                                 tlsCertificateKeyFile=str(certs.client_pem))
    with client(uri) as c:
        ext = c.get_database("$external")
        with pytest.raises(OperationFailure) as exc_info:
            ext.command({"authenticate": 1, "mechanism": "MONGODB-X509", "user": "CN=other"})
        assert exc_info.value.code == 18
        reply = ext.command({"authenticate": 1, "mechanism": "MONGODB-X509"})
        assert (reply["dbname"], reply["user"]) == ("$external", certs.client_subject)
        with pytest.raises(OperationFailure) as exc_info:
            c.admin.command({"authenticate": 1, "mechanism": "MONGODB-X509"})
        assert exc_info.value.code == 17  # ProtocolError: only on $external


def test_x509_without_client_certificate_fails(x509_rs: SimReplicaSet, certs: Certs) -> None:
    uri = x509_rs.members[0].uri(auth=False, tls=True, tlsCAFile=str(certs.ca))
    with client(uri) as c, pytest.raises(OperationFailure) as exc_info:
        c.get_database("$external").command({"authenticate": 1, "mechanism": "MONGODB-X509"})
    assert exc_info.value.code == 18


def test_x509_subject_without_user_fails(x509_rs: SimReplicaSet, certs: Certs) -> None:
    x509_rs.drop_user(certs.client_subject, "$external")
    with client(x509_uri(x509_rs, certs.ca, certs.client_pem)) as c, pytest.raises(OperationFailure) as exc_info:
        c.admin.command("ping")
    assert exc_info.value.code == 18


def test_x509_subject_with_escaping_matches_cryptography(certs: Certs, other: Certs) -> None:
    # the simulator derives the subject like mongod; cryptography's rfc4514_string() must name the same user
    assert other.client_subject.startswith("CN=\\#pmm\\, \\\"exporter\\\"\\+backup\\; \\<x\\>\\ ,O=")
    tls = SimTLS(certs.server_cert, certs.server_key, ca_file=other.ca, require_client_cert=True)
    with SimReplicaSet(tls=tls, users=[x509_user(other.client_subject)]) as rs:
        with client(x509_uri(rs, certs.ca, other.client_pem)) as c:
            status = c.admin.command("connectionStatus")
            assert status["authInfo"]["authenticatedUsers"] == [{"user": other.client_subject, "db": "$external"}]
        # the client certificate of the other CA is refused
        with client(x509_uri(rs, certs.ca, certs.client_pem)) as c, pytest.raises(ServerSelectionTimeoutError):
            c.admin.command("ping")


def test_passwordless_users_only_in_external() -> None:
    with pytest.raises(ValueError, match="password"):
        SimUser("pmm", "", roles=PMM_USER_ROLES)
    assert x509_user("CN=a").is_x509


# --- the exporter's probe -------------------------------------------------------------------------------------


def test_exporter_probe_over_tls_with_x509(x509_rs: SimReplicaSet, certs: Certs) -> None:
    cluster = ClusterConfig(name="tls-rs", uri=x509_uri(x509_rs, certs.ca, certs.client_pem), backup_mode="logical",
                            seeds=tuple(x509_rs.hosts), username=None, password=None)
    snapshot = probe_clusters([cluster]).get("tls-rs")
    assert snapshot is not None
    assert snapshot.probe_success, snapshot.probe_error
    status, reason, _ = result(snapshot, "mongodb_user_permissions")
    assert status is Status.PASS, reason
    assert f"user {certs.client_subject}@$external holds" in reason


def test_exporter_probe_reports_missing_roles_of_x509_user(x509_rs: SimReplicaSet, certs: Certs) -> None:
    x509_rs.revoke_role(certs.client_subject, "backup", "admin", user_db="$external")
    x509_rs.revoke_role(certs.client_subject, "pbmAnyAction", "admin", user_db="$external")
    cluster = ClusterConfig(name="tls-rs", uri=x509_uri(x509_rs, certs.ca, certs.client_pem), backup_mode="logical",
                            seeds=tuple(x509_rs.hosts), username=None, password=None)
    snapshot = probe_clusters([cluster]).get("tls-rs")
    assert snapshot is not None and snapshot.probe_success, snapshot and snapshot.probe_error
    status, reason, fix = result(snapshot, "mongodb_user_permissions")
    assert status is Status.FAIL
    assert reason.startswith(f"pbm-agent's user {certs.client_subject}@$external, which runs PBM's backups and "
                             f"restores, lacks the privileges of backup@admin (")
    assert f'db.getSiblingDB("$external").grantRolesToUser("{certs.client_subject}"' in fix
