// Writes the generated seeds of every harness: fuzz_seeds OUT_DIR writes OUT_DIR/<harness>/<name>.
// Seeds are small meaningful inputs (real frames from wire::encode, real handshake runs and
// records, real JSON-RPC lines, engine scripts that build a network) from which the fuzzer
// mutates. The engine scripts are run through the interpreter here, which checks that each
// reaches the state it is written for, so a change to the input format cannot silently turn
// them into noise. Deterministic: the same tree writes the same bytes (fuzz.seeds_current).
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "common/invite.hpp"
#include "common/wire/frame_decoder.hpp"
#include "common/wire/messages.hpp"
#include "fuzz/engine_model.hpp"
#include "fuzz/formats.hpp"
#include "fuzz/input.hpp"
#include "tests/support/identities.hpp"

namespace {

using namespace p2pchat;
using p2pchat::fuzz::writer;

std::filesystem::path out_dir;
int failures = 0;

void put(std::string const& harness, std::string const& name, std::string const& bytes) {
    auto const dir = out_dir / harness;
    std::filesystem::create_directories(dir);
    std::ofstream(dir / name, std::ios::binary) << bytes;
}

std::string const& id(char c) { return test::id_of(c); }

wire::peer_entry entry(char c, std::string name, std::string addr,
                       std::uint64_t inc = 1764000000000,
                       wire::peer_state state = wire::peer_state::alive) {
    return test::signed_entry(c, std::move(name), std::move(addr), inc, state);
}

wire::chat_msg chat(char c, std::uint64_t seq, std::string text, std::string const& previous = {}) {
    return test::chained_chat(c, seq, 7, std::move(text), previous, "alice", 1764000000123);
}

std::vector<std::pair<std::string, wire::message>> every_message() {
    crypto::key key;
    key.fill(0x42);
    auto const first = chat('a', 1764000000000001, "hi");
    auto const second = chat('a', 1764000000000002, "caf\xc3\xa9 \"quoted\"\n", first.chain);
    auto const renamed = entry('b', "robert", "10.0.0.2:7447", 1764000000001);
    auto const gone = entry('c', "carol", "[::1]:7447", 1764000000002, wire::peer_state::left);
    return {
        {"join", wire::join_msg{entry('a', "alice", "10.0.0.1:7447")}},
        {"hello", wire::hello_msg{entry('b', "bob", "10.0.0.2:7447")}},
        {"welcome", wire::welcome_msg{entry('a', "alice", "10.0.0.1:7447"),
                                      {entry('a', "alice", "10.0.0.1:7447"), gone},
                                      {second},
                                      {test::seal_of(second)},
                                      {{first.origin, second.seq, first.chain}},
                                      {{first.origin, 0}}}},
        {"refused", wire::refused_msg{"table_full", "peer table full (256 peers)"}},
        {"peers", wire::peers_msg{{entry('d', "dave", "192.0.2.1:9000")}, true}},
        {"digest", wire::digest_msg{std::string(64, '0'), 3}},
        {"chat", chat('b', 1764000000000001, "hello, world")},
        {"seal", test::seal_of(first)},
        {"rename", wire::rename_msg{renamed.id, renamed.name, renamed.inc, renamed.sig}},
        {"leave", wire::leave_msg{gone.id, gone.inc, gone.sig}},
        {"network_key", wire::network_key_msg{format_network_key(key)}},
        {"heads", wire::heads_msg{{{first.origin, 1764000000000002}, {second.origin, 0}}, false}},
        {"heads_ack", wire::heads_msg{{{first.origin, 3}}, true, true}},
        {"history",
         wire::history_msg{
             {second}, {test::seal_of(second)}, {{first.origin, second.seq, first.chain}}, true}},
        {"unknown", wire::unknown_msg{"ping"}},
        {"ping", wire::ping_msg{7, {{renamed}, {{gone.id, gone.inc, renamed.id}}}}},
        {"ack", wire::ack_msg{7, {{gone}, {}}}},
        {"ping_req", wire::ping_req_msg{8, renamed.id, {{}, {{gone.id, gone.inc, renamed.id}}}}},
        {"nack", wire::nack_msg{8}},
        {"unknown", wire::unknown_msg{"future"}},
    };
}

// ---------------------------------------------------------------- frame_decoder, wire_decode

void frame_decoder_seeds() {
    auto const msgs = every_message();
    auto stream = [](std::uint8_t limit, std::string const& bytes) {
        return writer().u8(limit).u64(0x1234).bytes(bytes).data();
    };
    put("frame_decoder", "one_frame", stream(0, wire::encode_frame(wire::encode(msgs[0].second))));
    std::string all;
    for (auto const& [name, m] : msgs) all += wire::encode_frame(wire::encode(m));
    put("frame_decoder", "every_type", stream(0, all));
    put("frame_decoder", "cut_short", stream(0, all.substr(0, all.size() / 2)));
    put("frame_decoder", "empty_frame", stream(0, std::string("\0\0\0\0", 4) + "more"));
    put("frame_decoder", "over_small_limit",
        stream(1,
               wire::encode_frame("0123456789abcdef") + wire::encode_frame("0123456789abcdefg")));
    put("frame_decoder", "over_default_limit", stream(0, std::string("\x00\x10\x00\x01", 4)));
}

void wire_decode_seeds() {
    for (auto const& [name, m] : every_message()) put("wire_decode", name, wire::encode(m));
    // Accepted and refused variants that are easy to get wrong.
    std::string const sig = entry('e', "eve", "10.0.0.5:7447").sig;
    auto leave = [&](int v, std::string const& inc, std::string const& extra = {}) {
        return R"({"v":)" + std::to_string(v) + R"(,"type":"leave","id":")" + id('e') +
               R"(","inc":)" + inc + R"(,"sig":")" + sig + '"' + extra + "}";
    };
    put("wire_decode", "newer_version", leave(2, "4", R"(,"extra":[1,{"x":null}])"));
    put("wire_decode", "version_zero", leave(0, "4"));
    put("wire_decode", "negative_inc", leave(1, "-1"));
    put("wire_decode", "escaped_name",
        R"({"v":1,"type":"rename","id":")" + id('e') +
            R"(","name":"\u00e9\ud83d\ude00","inc":18446744073709551615,"sig":")" + sig + R"("})");
    put("wire_decode", "unspecified_address",
        wire::encode(wire::hello_msg{entry('b', "bob", "0.0.0.0:7447")}));
    put("wire_decode", "not_an_object", "[1,2,3]");
}

// ---------------------------------------------------------------- handshake

void handshake_seeds() {
    namespace h = fuzz::handshake_format;
    auto setup = [](std::uint8_t bits) { return writer().u8(bits); };
    put("handshake", "honest_responder", setup(0).u8(h::genuine).u8(h::genuine).data());
    put("handshake", "honest_initiator", setup(h::victim_initiates).u8(h::genuine).data());
    put("handshake", "open_network", setup(h::open_network).u8(h::genuine).u8(h::genuine).data());
    put("handshake", "wrong_key_responder", setup(h::wrong_key).u8(h::genuine).data());
    put("handshake", "wrong_psk_right_mac",
        setup(h::wrong_key | h::insider_mac).u8(h::genuine).u8(h::genuine).data());
    put("handshake", "wrong_key_initiator",
        setup(h::wrong_key | h::victim_initiates).u8(h::genuine).data());
    put("handshake", "false_identity_responder",
        setup(h::false_identity).u8(h::genuine).u8(h::genuine).data());
    put("handshake", "false_identity_initiator",
        setup(h::false_identity | h::victim_initiates).u8(h::genuine).data());
    put("handshake", "flipped_message2",
        setup(0).u8(h::genuine).u8(h::flipped).u16(40).u8(0x80).data());
    put("handshake", "truncated_message1",
        setup(h::victim_initiates).u8(h::truncated).u16(60).data());
    put("handshake", "low_order_ephemeral",
        setup(0).u8(h::crafted).blob(std::string(48, '\0')).data());
    put("handshake", "insider_changed_ephemeral", setup(0).u8(h::reflipped).u16(3).u8(0x01).data());
    put("handshake", "replayed_message0_as_message2",
        setup(0).u8(h::genuine).u8(h::replayed).u8(0).data());
    put("handshake", "extra_after_done",
        setup(0).u8(h::genuine).u8(h::genuine).blob("more").data());
}

// ---------------------------------------------------------------- record_decoder

void record_seeds() {
    namespace r = fuzz::record_format;
    auto const msgs = every_message();
    auto start = [] { return writer().u64(0x5eed); };
    {
        writer w = start();
        w.u8(r::seal_frames).u8(0).blob(wire::encode(msgs[6].second));
        put("record_decoder", "one_frame", w.data());
    }
    {
        // Eight frames in one seal_records() call, then the rest in another.
        writer w = start();
        w.u8(r::seal_frames).u8(7);
        for (std::size_t i = 0; i < 8; ++i) w.blob(wire::encode(msgs[i].second));
        w.u8(r::seal_frames).u8(static_cast<std::uint8_t>(msgs.size() - 8 - 1));
        for (std::size_t i = 8; i < msgs.size(); ++i) w.blob(wire::encode(msgs[i].second));
        put("record_decoder", "many_frames", w.data());
    }
    {
        writer w = start();
        std::string const frame = wire::encode_frame(wire::encode(msgs[1].second));
        w.u8(r::seal_bytes).blob(frame.substr(0, 10)).u8(r::seal_bytes).blob(frame.substr(10));
        put("record_decoder", "frame_across_records", w.data());
    }
    put("record_decoder", "frame_at_limit", start().u8(r::seal_big).u8(0).data());
    put("record_decoder", "two_records_big_then_small", start().u8(r::seal_big).u8(6).data());
    {
        writer w = start();
        w.u8(r::seal_frames).u8(0).blob("{}").u8(r::seal_frames).u8(0).blob("[]");
        w.u8(r::flip_byte).u32(30).u8(4);
        put("record_decoder", "tampered_second_record", w.data());
    }
    {
        writer w = start();
        w.u8(r::seal_frames)
            .u8(0)
            .blob("{}")
            .u8(r::insert_raw)
            .blob(std::string("\0\0\0\x11", 4) + std::string(17, 'r'));
        put("record_decoder", "forged_record", w.data());
    }
    {
        writer w = start();
        w.u8(r::seal_bytes).blob(std::string("\0\0\0\0", 4));
        put("record_decoder", "empty_frame_inside", w.data());
    }
    put("record_decoder", "cut_record",
        start().u8(r::seal_frames).u8(0).blob("{}").u8(r::cut_end).u16(3).data());
}

// ---------------------------------------------------------------- rpc_parse_line

void rpc_seeds() {
    std::vector<std::pair<std::string, std::string>> const lines = {
        {"status", R"({"jsonrpc":"2.0","id":1,"method":"status"})"},
        {"send", R"({"jsonrpc":"2.0","id":"a","method":"send","params":{"text":"hi \u00e9"}})"},
        {"notification", R"({"jsonrpc":"2.0","method":"send","params":{"text":"x"}})"},
        {"batch",
         R"([{"jsonrpc":"2.0","id":1,"method":"peers"},{"jsonrpc":"2.0","id":2.5,"method":"history","params":{"limit":5,"since":3}},{"jsonrpc":"2.0","method":"leave"}])"},
        {"empty_params_list", R"({"jsonrpc":"2.0","id":null,"method":"subscribe","params":[]})"},
        {"params_by_position",
         R"({"jsonrpc":"2.0","id":7,"method":"join","params":["127.0.0.1"]})"},
        {"bad_version", R"({"jsonrpc":"1.0","id":7,"method":"status"})"},
        {"bad_id", R"({"jsonrpc":"2.0","id":{"x":1},"method":"status"})"},
        {"no_method", R"({"jsonrpc":"2.0","id":-3})"},
        {"empty_batch", "[]"},
        {"not_json", R"({"jsonrpc":"2.0",)"},
        {"bad_utf8", "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"\xff\"}"},
        {"non_finite_numbers",
         R"({"jsonrpc":"2.0","id":0e400,"method":"status","params":{"x":1e400}})"},
        {"nested",
         R"({"jsonrpc":"2.0","id":1,"method":"rename","params":{"name":[[[[{"a":[1e300,-0,true]}]]]]}})"},
    };
    for (auto const& [name, line] : lines) put("rpc_parse_line", name, line);
}

// ---------------------------------------------------------------- engine

namespace e = fuzz::engine_format;

struct script {
    writer w;
    explicit script(std::uint8_t setup) { w.u8(setup); }
    script& join(int k, int contact) {
        w.u8(e::join).u8(static_cast<std::uint8_t>(k)).u8(static_cast<std::uint8_t>(contact));
        return *this;
    }
    script& settle() {  // links come up, every frame arrives (twice: answers to answers)
        for (int i = 0; i < 3; ++i) w.u8(e::connect_all).u8(e::deliver_all);
        return *this;
    }
    script& send(int k, std::uint8_t text_choice = 0) {
        w.u8(e::send).u8(static_cast<std::uint8_t>(k)).u8(text_choice);
        return *this;
    }
    script& advance(std::uint16_t ms, bool times64 = false) {
        w.u8(e::advance).u16(ms).u8(times64 ? 1 : 0);
        return *this;
    }
    script& op(std::uint8_t o, int k) {
        w.u8(o).u8(static_cast<std::uint8_t>(k));
        return *this;
    }
    script& three_nodes() { return join(1, 0).settle().join(2, 1).settle().advance(2500).settle(); }
};

void expect(bool ok, std::string const& seed, std::string const& what) {
    if (ok) return;
    std::cerr << "fuzz_seeds: engine seed " << seed << " does not reach its state: " << what
              << "\n";
    ++failures;
}

fuzz::engine_outcome run(std::string const& bytes) {
    return fuzz::run_engine(reinterpret_cast<std::uint8_t const*>(bytes.data()), bytes.size());
}

void engine_seeds() {
    auto all_linked = [](fuzz::engine_outcome const& o) {
        return o.alive_peers[0] == 2 && o.alive_peers[1] == 2 && o.alive_peers[2] == 2;
    };
    {
        script s(0);
        s.three_nodes().send(0).send(2, 5).settle().op(e::rename, 1).w.u8(0);
        s.settle().advance(2100).settle().advance(2100).settle();
        auto const o = run(s.w.data());
        expect(all_linked(o) && o.digests_equal, "three_nodes_chat", "a converged network of 3");
        expect(o.messages_shown[0] == 2 && o.messages_shown[1] == 2 && o.messages_shown[2] == 2,
               "three_nodes_chat", "both messages shown everywhere");
        put("engine", "three_nodes_chat", s.w.data());
    }
    {
        script s(0);
        s.three_nodes().op(e::leave, 2).settle().advance(2100).settle().join(2, 0).settle();
        s.advance(2100).settle().advance(2100).settle();
        auto const o = run(s.w.data());
        expect(all_linked(o) && o.digests_equal, "leave_and_rejoin", "all three again");
        put("engine", "leave_and_rejoin", s.w.data());
    }
    {
        // Node 2 is cut off: its links break and every dial fails until the others remove it
        // as unreachable (30 s), then it joins again.
        script s(0);
        s.three_nodes();
        for (int i = 0; i < 2; ++i) s.w.u8(e::disconnect).u8(2).u8(static_cast<std::uint8_t>(i));
        for (int i = 0; i < 20; ++i) s.advance(2100).w.u8(e::deliver_all);
        s.join(2, 0).settle().advance(2100).settle().advance(2100).settle();
        auto const o = run(s.w.data());
        expect(all_linked(o) && o.digests_equal, "cut_off_and_back", "all three again");
        put("engine", "cut_off_and_back", s.w.data());
    }
    {
        script s(0);
        s.three_nodes().op(e::stop, 1).settle().advance(2100).settle();
        auto const o = run(s.w.data());
        expect(o.alive_peers[0] == 1 && o.alive_peers[2] == 1, "stop_one", "two left");
        put("engine", "stop_one", s.w.data());
    }
    {
        script s(1 << 1);  // node 2 holds one peer at most
        s.join(1, 0).settle().join(2, 0).settle().join(2, 1).settle();
        auto const o = run(s.w.data());
        expect(o.alive_peers[2] <= 1, "small_table", "node 2's table stays at 1");
        put("engine", "small_table", s.w.data());
    }
    {
        script s(8);  // node 1's clock is an hour behind
        s.join(0, 0).join(1, 0).settle().join(1, 0).settle().op(e::share_key, 0).w.u8(9);
        s.settle();
        put("engine", "self_join_and_skew", s.w.data());
    }
    {
        // Strangers talk to node 0: one frame of each kind on fresh connections.
        script s(0);
        s.join(1, 0).settle();
        for (std::uint8_t kind = 0; kind < e::message_kind_count; ++kind) {
            // inject node 0, a new connection (choice >= 128), vouched as id 3, host 0,
            // then the message kind; the rest of each message's fields read as zeros/firsts.
            s.w.u8(e::inject).u8(0).u8(200).u8(3).u8(0).u8(kind);
            s.w.bytes(std::string(24, '\0'));
        }
        s.settle();
        put("engine", "strangers", s.w.data());
    }
    {
        // A peer relays news about node 0 that outranks it (not signed by node 0: refused),
        // and sends a huge Lamport time.
        script s(0);
        s.join(1, 0).settle();
        writer& w = s.w;
        // peers on a connection of node 1 (pool 1): one entry about node 0 (pool 0), made
        // here (how 2: signed by a stranger), name and address 0, inc max, left; not full.
        w.u8(e::inject).u8(0).u8(200).u8(1).u8(1).u8(e::m_peers);
        w.u8(1).u8(0).u8(2).u8(0).u8(0).u8(5).u8(1).u8(0);
        // chat from node 1 on its own connection: seq as expected, lamport max, chained.
        w.u8(e::inject).u8(0).u8(200).u8(1).u8(1).u8(e::m_chat);
        w.u8(1).u8(0).u8(5).u8(0).u8(0).u8(0).u8(1);
        s.send(0).settle();
        auto const o = run(s.w.data());
        expect(o.messages_shown[1] == 1, "outranked_and_lamport", "node 0's message at node 1");
        put("engine", "outranked_and_lamport", s.w.data());
    }
    {
        // Stranger 3 (a member the model plays, with its own key) joins node 0, says
        // something and seals it; node 1 learns of it from node 0 (its signed entry), and
        // node 2, joining later, gets its message in the welcome, proven by the seal.
        script s(0);
        s.join(1, 0).settle();
        writer& w = s.w;
        // join on a new connection vouched as 3: entry of 3 (how 2), name 0, its address,
        // inc as expected, alive.
        w.u8(e::inject).u8(0).u8(200).u8(3).u8(0).u8(e::m_join);
        w.u8(3).u8(2).u8(0).u8(0).u8(0).u8(0);
        // chat from 3: seq, lamport, time as expected, name 0, text "hello", chained.
        w.u8(e::inject).u8(0).u8(200).u8(3).u8(0).u8(e::m_chat);
        w.u8(3).u8(0).u8(0).u8(0).u8(0).u8(0).u8(1);
        // its seal of that message.
        w.u8(e::inject).u8(0).u8(200).u8(3).u8(0).u8(e::m_seal).u8(3).u8(1).u8(0);
        s.settle().join(2, 0).settle();
        auto const o = run(s.w.data());
        expect(o.alive_peers[1] == 3, "stranger_member", "node 1 believes node 0's relay");
        expect(o.messages_shown[0] == 1 && o.messages_shown[2] == 1, "stranger_member",
               "the stranger's message proven in node 2's welcome");
        put("engine", "stranger_member", s.w.data());
    }
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 2) {
        std::cerr << "usage: fuzz_seeds OUT_DIR\n";
        return 64;
    }
    out_dir = argv[1];
    fuzz::use_deterministic_randomness();
    frame_decoder_seeds();
    wire_decode_seeds();
    handshake_seeds();
    record_seeds();
    rpc_seeds();
    engine_seeds();
    return failures == 0 ? 0 : 1;
}
