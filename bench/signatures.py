"""Verifying signed decisions: what replay does per signed record, against a bare Ed25519 verify.

Run as a child by bench.run: ``python -m bench.signatures COUNT``; prints JSON. Each decision is a
real statement signed with a real Ed25519 key in SSHSIG form. "Ours" is what ``audit verify`` does
for each signed record: parse the statement strictly, parse the armored signature, check its
namespace and key, and verify the signature over the SSHSIG envelope. The reference is the bare
``cryptography`` Ed25519 verify of the same 64-byte signatures over the same envelopes.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
import time


def main() -> None:
    count = int(sys.argv[1])
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    from signoff.domain import sshsig
    from signoff.domain.decision import build_statement, parse_statement
    from signoff.domain.sshkeys import PublicKey, SigningKey, ed25519_blob

    private = Ed25519PrivateKey.generate()
    raw_public = private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    key = SigningKey(PublicKey(ed25519_blob(raw_public)), private)
    at = dt.datetime(2026, 12, 14, 10, 0, tzinfo=dt.UTC)
    decisions = []
    for n in range(count):
        text = build_statement(
            register="3b0f6c1e-8a52-4d55-9f1e-2f4c1e0a7b19",
            item=f"OF-{n:05d}",
            title=f"Recommendation {n}: ensure every contact is screened within one working day",
            event="approve",
            meeting=at.date(),
            bundle=f"{n:064x}",
            actor="chair.whitfield",
            time=at + dt.timedelta(seconds=n),
        ).encode()
        decisions.append((text, sshsig.sign(key, text)))

    t = time.perf_counter()
    for text, armored in decisions:
        parse_statement(text, "the statement")
        sshsig.verify(armored, text, public_key=key.public)
    ours = time.perf_counter() - t

    envelopes = [(sshsig.signed_data(text), sshsig.parse(armored).signature) for text, armored in decisions]
    bare = Ed25519PublicKey.from_public_bytes(raw_public)
    t = time.perf_counter()
    for data, signature in envelopes:
        bare.verify(signature, data)
    ref = time.perf_counter() - t
    json.dump(
        {"decisions": count, "ours_s": ours, "ref_s": ref, "ours_per_s": count / ours, "ref_per_s": count / ref},
        sys.stdout,
    )


if __name__ == "__main__":
    main()
