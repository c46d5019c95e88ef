#!/usr/bin/python3
"""Runs Noise_XXpsk3_25519_ChaChaPoly_SHA256 with dissononce (Debian's python3-dissononce, an
independent implementation of the Noise framework) on fixed keys, and prints what goes over
the wire, so that noise_test.cpp can check p2pchat's own implementation byte for byte.

stdin: one JSON object of hex strings: init_static, init_ephemeral, resp_static,
resp_ephemeral (X25519 secret keys), psk, prologue, payloads (three), transport (one payload
sent each way after the handshake).
stdout: {"messages": [hex, hex, hex], "handshake_hash": hex,
         "initiator_to_responder": hex, "responder_to_initiator": hex}
"""
import json
import sys

from dissononce.cipher.chachapoly import ChaChaPolyCipher
from dissononce.dh.private import PrivateKey
from dissononce.dh.x25519.x25519 import X25519DH
from dissononce.hash.sha256 import SHA256Hash
from dissononce.processing.handshakepatterns.interactive.XX import XXHandshakePattern
from dissononce.processing.impl.cipherstate import CipherState
from dissononce.processing.impl.handshakestate import HandshakeState
from dissononce.processing.impl.symmetricstate import SymmetricState
from dissononce.processing.modifiers.psk import PSKPatternModifier


class FixedEphemeral(X25519DH):
    """dissononce draws the ephemeral key itself: hand it the fixed one instead."""

    def __init__(self, ephemeral):
        super().__init__()
        self.ephemeral = ephemeral

    def generate_keypair(self, privatekey=None):
        if privatekey is None:
            privatekey = PrivateKey(self.ephemeral)
        return super().generate_keypair(privatekey)


def party(ephemeral, static, initiator, prologue, psk):
    dh = FixedEphemeral(ephemeral)
    state = HandshakeState(SymmetricState(CipherState(ChaChaPolyCipher()), SHA256Hash()), dh)
    pattern = PSKPatternModifier(3).modify(XXHandshakePattern())
    state.initialize(pattern, initiator, prologue,
                     s=dh.generate_keypair(PrivateKey(static)), psks=[psk])
    return state


def main():
    v = {k: (bytes.fromhex(x) if isinstance(x, str) else [bytes.fromhex(p) for p in x])
         for k, x in json.load(sys.stdin).items()}
    init = party(v["init_ephemeral"], v["init_static"], True, v["prologue"], v["psk"])
    resp = party(v["resp_ephemeral"], v["resp_static"], False, v["prologue"], v["psk"])
    messages = []
    result = None
    for i, payload in enumerate(v["payloads"]):
        writer, reader = (init, resp) if i % 2 == 0 else (resp, init)
        buf = bytearray()
        result = writer.write_message(payload, buf)
        out = bytearray()
        reader.read_message(bytes(buf), out)
        assert bytes(out) == payload
        messages.append(buf.hex())
    init_send, init_recv = result  # split(): (initiator -> responder, responder -> initiator)
    print(json.dumps({
        "messages": messages,
        "handshake_hash": init.symmetricstate.get_handshake_hash().hex(),
        "initiator_to_responder": init_send.encrypt_with_ad(b"", v["transport"][0]).hex(),
        "responder_to_initiator": init_recv.encrypt_with_ad(b"", v["transport"][1]).hex(),
    }))


if __name__ == "__main__":
    main()
