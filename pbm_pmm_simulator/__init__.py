"""A simulated MongoDB replica set (and standalone mongod) speaking the real wire protocol, for tests and demos.

Real pymongo (sync and async) connects to it over loopback TCP: OP_MSG and legacy OP_QUERY handshake, SCRAM-SHA-256
authentication, hello/isMaster, buildInfo, replSetGetStatus, replSetGetConfig, connectionStatus, getParameter (FCV),
find/getMore/killCursors on an in-memory store with PBM's `admin.pbmAgents` and `admin.pbmConfig`, and per-node faults.
One asyncio loop in one daemon thread serves every node of every simulated set in the process.

    with SimReplicaSet() as rs:                      # healthy 3-member PSMDB 7.0 set, PBM 2.7.0 agents
        client = pymongo.MongoClient(rs.uri())       # user pmm / secret, replicaSet=rs0, authSource=admin

    with SimShardedCluster() as cluster:             # CSRS "cfg" + shard0, shard1 (3 members each) + one mongos
        client = pymongo.MongoClient(cluster.uri())  # through the mongos; cluster.config / cluster.shards[i].uri()

TLS (requireTLS) and MONGODB-X509 users in `$external`, named by the client certificate's RFC 4514 subject:

    tls = SimTLS("server.crt", "server.key", ca_file="ca.pem")
    x509 = SimUser(subject, "", db="$external", roles=PMM_USER_ROLES, mechanisms=("MONGODB-X509",))
    with SimReplicaSet(tls=tls, users=[x509]) as rs:  # rs.uri(): authMechanism=MONGODB-X509&authSource=$external
        client = pymongo.MongoClient(rs.uri(tls=True, tlsCAFile="ca.pem", tlsCertificateKeyFile="client.pem"))
"""

from .errors import CommandError
from .node import SimNode
from .replset import SimReplicaSet, wire_version
from .sharded import SimShardedCluster
from .specs import (
    DEFAULT_MEMBERS,
    DEFAULT_PASSWORD,
    DEFAULT_PBM_CONFIG,
    DEFAULT_ROLES,
    DEFAULT_USER,
    DEFAULT_USERS,
    EXTERNAL_DB,
    MONGODB_X509,
    PBM_ANY_ACTION_ROLE,
    PMM_BACKUP_ROLES,
    PMM_MONITOR_ROLE,
    PMM_MONITOR_ROLES,
    PMM_USER_ROLES,
    AgentSpec,
    MemberSpec,
    SimRole,
    SimTLS,
    SimUser,
)

__all__ = [
    "DEFAULT_MEMBERS",
    "DEFAULT_PASSWORD",
    "DEFAULT_PBM_CONFIG",
    "DEFAULT_ROLES",
    "DEFAULT_USER",
    "DEFAULT_USERS",
    "EXTERNAL_DB",
    "MONGODB_X509",
    "PBM_ANY_ACTION_ROLE",
    "PMM_BACKUP_ROLES",
    "PMM_MONITOR_ROLE",
    "PMM_MONITOR_ROLES",
    "PMM_USER_ROLES",
    "AgentSpec",
    "CommandError",
    "MemberSpec",
    "SimNode",
    "SimReplicaSet",
    "SimRole",
    "SimShardedCluster",
    "SimTLS",
    "SimUser",
    "wire_version",
]
