// Google Benchmark micro-benchmarks of the per-message hot paths (docs/BENCHMARKS.md): the
// chat frame codec, the frame decoder, owner signatures, the peer-table merge and the
// JSON-RPC request parse.
// `bench/run` runs them and keeps the figures in its JSON; run alone for more detail.
#include <benchmark/benchmark.h>
#include <sodium.h>

#include <cstdlib>
#include <string>
#include <vector>

#include "common/crypto/secure_channel.hpp"
#include "common/crypto/signatures.hpp"
#include "common/peer_table.hpp"
#include "common/rpc/rpc.hpp"
#include "common/wire/frame_decoder.hpp"
#include "common/wire/messages.hpp"

namespace {

using namespace p2pchat;

std::string hex_id(std::size_t n) {
    static char const digits[] = "0123456789abcdef";
    std::string id(64, '0');
    for (std::size_t i = 0; i < 16 && n; ++i, n >>= 4) id[63 - i] = digits[n & 15];
    return id;
}

// One Ed25519 identity signs everything here: the codec requires a well-formed signature,
// and the verification benchmarks need a real one.
struct identity {
    std::string id;
    crypto::signing_key key{};
};
identity const& the_identity() {
    static identity const it = [] {
        if (sodium_init() < 0) std::abort();
        identity out;
        unsigned char seed[crypto_sign_SEEDBYTES] = {7};
        unsigned char pk[crypto_sign_PUBLICKEYBYTES];
        crypto_sign_seed_keypair(pk, out.key.data(), seed);
        char hex[crypto_sign_PUBLICKEYBYTES * 2 + 1];
        sodium_bin2hex(hex, sizeof hex, pk, sizeof pk);
        out.id = hex;
        return out;
    }();
    return it;
}

// The chain value a message follows: any 32 bytes will do for the cost of a link.
std::string const& previous_chain() {
    static std::string const chain(43, 'A');
    return chain;
}

wire::chat_msg sample_chat() {
    wire::chat_msg chat{.origin = the_identity().id,
                        .seq = 12345,
                        .lamport = 67890,
                        .time_ms = 1764111111123,
                        .name = "alice",
                        .text = "hello, this is a chat line of typical length for a shell pipe",
                        .chain = {}};
    chat.chain = crypto::next_chain(previous_chain(), chat);
    return chat;
}

// Table entries: many ids, one signature-shaped text (the table neither signs nor checks).
wire::peer_entry entry(std::size_t i, std::uint64_t inc) {
    return {
        hex_id(i + 1), "node" + std::to_string(i), "127.0.0.1:" + std::to_string(7000 + i),
        inc,           wire::peer_state::alive,    std::string(crypto::signature_text_size, 'A')};
}

wire::peer_entry signed_entry() {
    wire::peer_entry e{the_identity().id,       "alice", "192.0.2.7:7447", 1764111111123,
                       wire::peer_state::alive, {}};
    e.sig = crypto::sign_entry(e, the_identity().key);
    return e;
}

void frame_encode(benchmark::State& state) {
    wire::message const m = sample_chat();
    for (auto _ : state) benchmark::DoNotOptimize(wire::encode_frame(wire::encode(m)));
}
BENCHMARK(frame_encode);

void frame_decode(benchmark::State& state) {
    std::string const payload = wire::encode(wire::message{sample_chat()});
    for (auto _ : state) benchmark::DoNotOptimize(wire::decode(payload));
}
BENCHMARK(frame_decode);

// What a relayed entry or message costs the receiver that checks it, and its signer.
void entry_verify(benchmark::State& state) {
    auto const e = signed_entry();
    for (auto _ : state) benchmark::DoNotOptimize(crypto::verifies(e));
}
BENCHMARK(entry_verify);

// A message costs its chain link; a seal (one per burst) costs a signature check.
void chat_chain_link(benchmark::State& state) {
    auto const chat = sample_chat();
    for (auto _ : state) benchmark::DoNotOptimize(crypto::follows(previous_chain(), chat));
}
BENCHMARK(chat_chain_link);

void seal_verify(benchmark::State& state) {
    auto const chat = sample_chat();
    auto const s = crypto::seal(chat.origin, chat.seq, chat.chain, the_identity().key);
    for (auto _ : state) benchmark::DoNotOptimize(crypto::verifies(s));
}
BENCHMARK(seal_verify);

void entry_sign(benchmark::State& state) {
    auto const e = signed_entry();
    for (auto _ : state) benchmark::DoNotOptimize(crypto::sign_entry(e, the_identity().key));
}
BENCHMARK(entry_sign);

// A whole link handshake, both ends (Noise XXpsk3, the identity binding, mac1): what every
// peer connection costs before its first frame, and what a full mesh pays per link.
void link_handshake(benchmark::State& state) {
    crypto::identity_keys a, b;
    crypto_sign_keypair(a.public_key.data(), a.secret_key.data());
    crypto_sign_keypair(b.public_key.data(), b.secret_key.data());
    auto const network = crypto::generate_network_key();
    for (auto _ : state) {
        crypto::channel_handshake initiator(crypto::channel_handshake::role::initiator, a, network);
        crypto::channel_handshake responder(crypto::channel_handshake::role::responder, b, network);
        crypto::handshake_failure failure{};
        auto m2 = responder.receive(initiator.start(), failure);
        auto m3 = initiator.receive(*m2, failure);
        responder.receive(*m3, failure);
        if (!initiator.done() || !responder.done()) state.SkipWithError("handshake failed");
    }
}
BENCHMARK(link_handshake);

// Splitting a read of 64 frames: what the reader coroutine does per socket read under load.
void frame_split_64(benchmark::State& state) {
    std::string const frame = wire::encode_frame(wire::encode(wire::message{sample_chat()}));
    std::string burst;
    for (int i = 0; i < 64; ++i) burst += frame;
    for (auto _ : state) {
        wire::frame_decoder d;
        d.feed(burst);
        while (auto f = d.next()) benchmark::DoNotOptimize(f);
    }
    state.SetItemsProcessed(state.iterations() * 64);
}
BENCHMARK(frame_split_64);

// Merging a full list of N entries into a table that already knows them all (anti-entropy's
// common case) and into an empty one (a newcomer's welcome).
void peer_table_merge_known(benchmark::State& state) {
    auto const n = static_cast<std::size_t>(state.range(0));
    peer_table table(entry(100000, 1), n + 1);
    std::vector<wire::peer_entry> list;
    for (std::size_t i = 0; i < n; ++i) list.push_back(entry(i, 5));
    for (auto const& e : list) table.merge(e, 0);
    for (auto _ : state)
        for (auto const& e : list) benchmark::DoNotOptimize(table.merge(e, 0));
    state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(n));
}
BENCHMARK(peer_table_merge_known)->Arg(64)->Arg(256);

void peer_table_merge_new(benchmark::State& state) {
    auto const n = static_cast<std::size_t>(state.range(0));
    std::vector<wire::peer_entry> list;
    for (std::size_t i = 0; i < n; ++i) list.push_back(entry(i, 5));
    for (auto _ : state) {
        peer_table table(entry(100000, 1), n + 1);
        for (auto const& e : list) benchmark::DoNotOptimize(table.merge(e, 0));
    }
    state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(n));
}
BENCHMARK(peer_table_merge_new)->Arg(64)->Arg(256);

void peer_table_digest(benchmark::State& state) {
    auto const n = static_cast<std::size_t>(state.range(0));
    peer_table table(entry(100000, 1), n + 1);
    for (std::size_t i = 0; i < n; ++i) table.merge(entry(i, 5), 0);
    for (auto _ : state) benchmark::DoNotOptimize(table.digest());
}
BENCHMARK(peer_table_digest)->Arg(256);

void rpc_parse_send(benchmark::State& state) {
    std::string const line =
        R"({"jsonrpc":"2.0","id":4711,"method":"send","params":{"text":"hello, this is a chat line of typical length for a shell pipe"}})";
    for (auto _ : state) benchmark::DoNotOptimize(rpc::parse_line(line));
}
BENCHMARK(rpc_parse_send);

}  // namespace

BENCHMARK_MAIN();
