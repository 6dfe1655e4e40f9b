"""The parts of a MongoDB connection string node-check needs: its hosts and its options.

Read the way MongoDB's drivers read it (the Connection String spec: scheme, optional userinfo before the last '@',
comma-separated hosts with optional ports, IPv6 literals in brackets, then /database?options), so that what
node-check calls unparsable pbm-agent's Go driver refuses too. tests/test_node_check.py compares it with
pymongo's parser, which node-check cannot import. Like all of node-check: Python 3.6 and the standard library.
"""

import re
from typing import Dict, List, NamedTuple, Optional, Tuple
from urllib.parse import unquote_plus

DEFAULT_PORT = 27017
SCHEME = "mongodb://"


class InvalidURI(ValueError):
    """Why the string is no MongoDB URI; never holds the URI itself, which may carry a password."""


class ParsedURI(NamedTuple):
    hosts: List[Tuple[str, int]]  # host lower-cased, port
    options: Dict[str, str]  # option names lower-cased (they are case-insensitive), values unquoted


def parse_uri(uri: str) -> ParsedURI:
    if not uri.startswith(SCHEME):
        raise InvalidURI("it does not start with " + SCHEME)
    rest = uri[len(SCHEME):]
    host_part, slash, path_part = rest.partition("/")
    options_text = path_part.partition("?")[2] if slash else ""
    if not slash:
        host_part, _, options_text = host_part.partition("?")
    if "@" in host_part:
        userinfo, _, host_part = host_part.rpartition("@")
        _check_userinfo(userinfo)
    if not host_part:
        raise InvalidURI("it names no host")
    return ParsedURI([_host(entry) for entry in unquote_plus(host_part).split(",")], _options(options_text))


def _check_userinfo(userinfo: str) -> None:
    # user and password must be percent-encoded: one ':' between them at most, no '@', no stray '%'
    if "@" in userinfo or userinfo.count(":") > 1 or re.search(r"%(?![0-9A-Fa-f]{2})", userinfo):
        raise InvalidURI("its user name or password is not percent-encoded")
    if not userinfo.partition(":")[0]:
        raise InvalidURI("its user name is empty")


def _host(entry: str) -> Tuple[str, int]:
    if not entry:
        raise InvalidURI("its host list has an empty entry")
    host = entry
    port: Optional[str] = None
    if entry.startswith("["):  # an IPv6 literal: [::1] or [::1]:27017
        if "]" not in entry:
            raise InvalidURI("an IPv6 address lacks its closing ']'")
        host, _, after = entry[1:].partition("]")
        if after and not after.startswith(":"):
            raise InvalidURI("an IPv6 address is followed by something other than a port")
        port = after[1:] if after else None
    elif not entry.endswith(".sock") and ":" in entry:
        if entry.count(":") > 1:
            raise InvalidURI("a host holds several ':' (an IPv6 address must be in brackets)")
        host, port = entry.split(":")
    if port is None:
        return host.lower(), DEFAULT_PORT
    if not re.fullmatch("[0-9]+", port) or not 0 < int(port) <= 65535:
        raise InvalidURI("a port is not a number from 1 to 65535")
    return host.lower(), int(port)


def _options(text: str) -> Dict[str, str]:
    options = {}
    for pair in re.split("[&;]", text) if text else []:
        key, _, value = pair.partition("=")
        options[unquote_plus(key).lower()] = unquote_plus(value)
    return options
