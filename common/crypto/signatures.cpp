#include "common/crypto/signatures.hpp"

#include <sodium.h>

#include <optional>

#include "common/crypto/base64url.hpp"

namespace p2pchat::crypto {

namespace {

using signature = std::array<unsigned char, crypto_sign_BYTES>;

void put_u64(std::string& out, std::uint64_t v) {
    for (int i = 7; i >= 0; --i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}
void put_u32(std::string& out, std::uint32_t v) {
    for (int i = 3; i >= 0; --i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}
void put_u16(std::string& out, std::uint16_t v) {
    out.push_back(static_cast<char>(v >> 8));
    out.push_back(static_cast<char>(v & 0xff));
}

// Names are at most 64 bytes, addresses short, texts at most 64 KiB: the length prefixes fit.
std::string entry_bytes(wire::peer_entry const& e, wire::peer_state state) {
    std::string out = "p2pchat/entry/1";
    put_u16(out, static_cast<std::uint16_t>(e.name.size()));
    out += e.name;
    put_u16(out, static_cast<std::uint16_t>(e.addr.size()));
    out += e.addr;
    put_u64(out, e.inc);
    out.push_back(state == wire::peer_state::alive ? '\x01' : '\x02');
    return out;
}

using chain_bytes = std::array<unsigned char, 32>;

std::optional<chain_bytes> decode_chain(std::string_view text) { return from_base64url<32>(text); }

std::string chat_bytes(wire::chat_msg const& c, chain_bytes const& previous) {
    std::string out = "p2pchat/chat/1";
    out.append(reinterpret_cast<char const*>(previous.data()), previous.size());
    put_u64(out, c.seq);
    put_u64(out, c.lamport);
    put_u64(out, static_cast<std::uint64_t>(c.time_ms));
    put_u16(out, static_cast<std::uint16_t>(c.name.size()));
    out += c.name;
    put_u32(out, static_cast<std::uint32_t>(c.text.size()));
    out += c.text;
    return out;
}

std::string sign_bytes(std::string const& bytes, signing_key const& key) {
    signature sig;
    crypto_sign_detached(sig.data(), nullptr, reinterpret_cast<unsigned char const*>(bytes.data()),
                         bytes.size(), key.data());
    return to_base64url(sig);
}

std::optional<signature> decode_signature(std::string_view text) {
    return from_base64url<crypto_sign_BYTES>(text);
}

bool verify_bytes(std::string const& bytes, std::string_view sig_text, std::string_view id) {
    auto const sig = decode_signature(sig_text);
    std::array<unsigned char, crypto_sign_PUBLICKEYBYTES> key;
    if (!sig || id.size() != key.size() * 2 ||
        sodium_hex2bin(key.data(), key.size(), id.data(), id.size(), nullptr, nullptr, nullptr) !=
            0)
        return false;
    return crypto_sign_verify_detached(sig->data(),
                                       reinterpret_cast<unsigned char const*>(bytes.data()),
                                       bytes.size(), key.data()) == 0;
}

}  // namespace

std::string sign_entry(wire::peer_entry const& entry, signing_key const& key) {
    return sign_bytes(entry_bytes(entry, entry.state), key);
}

bool verifies(wire::peer_entry const& entry, wire::peer_state as) {
    return verify_bytes(entry_bytes(entry, as), entry.sig, entry.id);
}

std::string next_chain(std::string_view previous, wire::chat_msg const& chat) {
    chain_bytes prev{};  // the first message of a run follows all zeros
    if (!previous.empty())
        if (auto decoded = decode_chain(previous)) prev = *decoded;
    auto const bytes = chat_bytes(chat, prev);
    chain_bytes out;
    crypto_generichash(out.data(), out.size(), reinterpret_cast<unsigned char const*>(bytes.data()),
                       bytes.size(), nullptr, 0);
    return to_base64url(out);
}

bool follows(std::string_view previous, wire::chat_msg const& chat) {
    return next_chain(previous, chat) == chat.chain;
}

namespace {
std::string seal_bytes(std::uint64_t seq, std::string_view chain) {
    std::string out = "p2pchat/seal/1";
    put_u64(out, seq);
    if (auto c = decode_chain(chain))
        out.append(reinterpret_cast<char const*>(c->data()), c->size());
    return out;
}
}  // namespace

wire::seal_msg seal(std::string origin, std::uint64_t seq, std::string chain,
                    signing_key const& key) {
    auto sig = sign_bytes(seal_bytes(seq, chain), key);
    return {std::move(origin), seq, std::move(chain), std::move(sig)};
}

bool verifies(wire::seal_msg const& s) {
    return decode_chain(s.chain) && verify_bytes(seal_bytes(s.seq, s.chain), s.sig, s.origin);
}

bool is_signature_text(std::string_view text) { return decode_signature(text).has_value(); }

bool is_chain_text(std::string_view text) {
    // The shape only (every chat message is checked on arrival; decoding is not needed to
    // compare chains): 43 characters of the base64url alphabet.
    return text.size() == base64url_length(32) && in_base64url_alphabet(text);
}

}  // namespace p2pchat::crypto
