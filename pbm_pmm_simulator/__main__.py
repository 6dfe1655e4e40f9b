"""`python -m pbm_pmm_simulator`: serve a simulated replica set until interrupted and print how to reach it."""

from __future__ import annotations

import argparse
import logging
import threading

from . import DEFAULT_USERS, MemberSpec, SimReplicaSet


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pbm_pmm_simulator", description=__doc__)
    parser.add_argument("--name", default="rs0", help="replica set name (default rs0)")
    parser.add_argument("--members", type=int, default=3, help="number of data-bearing members (default 3)")
    parser.add_argument("--arbiter", action="store_true", help="add an arbiter")
    parser.add_argument("--clock-offset", type=float, default=0.0, help="seconds added to the servers' clocks")
    parser.add_argument("--standalone", action="store_true", help="a single mongod without --replSet")
    parser.add_argument("--no-auth", action="store_true", help="no users: authentication disabled")
    args = parser.parse_args(argv)

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    members = [MemberSpec() for _ in range(1 if args.standalone else max(1, args.members))]
    if args.arbiter and not args.standalone:
        members.append(MemberSpec(arbiter=True))
    rs = SimReplicaSet(
        args.name,
        members,
        users=() if args.no_auth else DEFAULT_USERS,
        clock_offset=args.clock_offset,
        standalone=args.standalone,
    ).start()
    print(rs.uri(), flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        rs.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
