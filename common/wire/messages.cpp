#include "common/wire/messages.hpp"

#include <boost/json.hpp>
#include <optional>

#include "common/address.hpp"
#include "common/crypto/signatures.hpp"
#include "common/invite.hpp"
#include "common/text.hpp"

namespace p2pchat::wire {

namespace json = boost::json;

namespace {

class decode_category_impl final : public boost::system::error_category {
  public:
    char const* name() const noexcept override { return "p2pchat.wire"; }
    std::string message(int ev) const override {
        switch (static_cast<decode_errc>(ev)) {
            case decode_errc::not_json:
                return "frame is not valid UTF-8 JSON";
            case decode_errc::not_an_object:
                return "frame is not a JSON object with v and type";
            case decode_errc::missing_field:
                return "a required field is missing";
            case decode_errc::bad_field:
                return "a field has a bad type or value";
            case decode_errc::unsupported_version:
                return "protocol version 0 does not exist";
        }
        return "unknown wire error";
    }
};

// ---- encoding ----

json::object encode_entry(peer_entry const& e) {
    return {{"id", e.id},
            {"name", e.name},
            {"addr", e.addr},
            {"inc", e.inc},
            {"state", e.state == peer_state::alive ? "alive" : "left"},
            {"sig", e.sig}};
}

json::object encode_chat(chat_msg const& c) {
    return {{"origin", c.origin}, {"seq", c.seq},   {"lamport", c.lamport}, {"time", c.time_ms},
            {"name", c.name},     {"text", c.text}, {"chain", c.chain}};
}

json::object encode_seal(seal_msg const& m) {
    return {{"origin", m.origin}, {"seq", m.seq}, {"chain", m.chain}, {"sig", m.sig}};
}

json::object encode_anchor(chain_anchor const& a) {
    return {{"origin", a.origin}, {"seq", a.seq}, {"chain", a.chain}};
}

json::array encode_seals(std::vector<seal_msg> const& seals) {
    json::array out;
    out.reserve(seals.size());
    for (auto const& seal : seals) out.emplace_back(encode_seal(seal));
    return out;
}

json::array encode_anchors(std::vector<chain_anchor> const& anchors) {
    json::array out;
    out.reserve(anchors.size());
    for (auto const& a : anchors) out.emplace_back(encode_anchor(a));
    return out;
}

json::array encode_heads(std::vector<origin_head> const& heads) {
    json::array out;
    out.reserve(heads.size());
    for (auto const& h : heads)
        out.emplace_back(json::object{{"origin", h.origin}, {"seq", h.seq}});
    return out;
}

json::array encode_entries(std::vector<peer_entry> const& entries) {
    json::array out;
    out.reserve(entries.size());
    for (auto const& e : entries) out.emplace_back(encode_entry(e));
    return out;
}

void encode_gossip(json::object& o, gossip const& g) {
    o["entries"] = encode_entries(g.entries);
    json::array suspects;
    for (auto const& s : g.suspects)
        suspects.emplace_back(json::object{{"id", s.id}, {"inc", s.inc}, {"from", s.from}});
    o["suspects"] = std::move(suspects);
}

struct encoder {
    json::object& o;
    void operator()(join_msg const& m) const {
        o["type"] = "join";
        o["from"] = encode_entry(m.from);
        if (m.reconnect) o["reconnect"] = true;
    }
    void operator()(welcome_msg const& m) const {
        o["type"] = "welcome";
        o["from"] = encode_entry(m.from);
        o["peers"] = encode_entries(m.peers);
        json::array history;
        for (auto const& c : m.history) history.emplace_back(encode_chat(c));
        o["history"] = std::move(history);
        o["seals"] = encode_seals(m.seals);
        o["anchors"] = encode_anchors(m.anchors);
        if (!m.heads.empty()) o["heads"] = encode_heads(m.heads);
    }
    void operator()(refused_msg const& m) const {
        o["type"] = "refused";
        o["code"] = m.code;
        o["reason"] = m.reason;
    }
    void operator()(hello_msg const& m) const {
        o["type"] = "hello";
        o["from"] = encode_entry(m.from);
    }
    void operator()(peers_msg const& m) const {
        o["type"] = "peers";
        o["peers"] = encode_entries(m.peers);
        o["full"] = m.full;
    }
    void operator()(digest_msg const& m) const {
        o["type"] = "digest";
        o["hash"] = m.hash;
        o["count"] = m.count;
    }
    void operator()(chat_msg const& m) const {
        o["type"] = "chat";
        for (auto& kv : encode_chat(m)) o[kv.key()] = std::move(kv.value());
    }
    void operator()(rename_msg const& m) const {
        o["type"] = "rename";
        o["id"] = m.id;
        o["name"] = m.name;
        o["inc"] = m.inc;
        o["sig"] = m.sig;
    }
    void operator()(leave_msg const& m) const {
        o["type"] = "leave";
        o["id"] = m.id;
        o["inc"] = m.inc;
        o["sig"] = m.sig;
    }
    void operator()(seal_msg const& m) const {
        o["type"] = "seal";
        for (auto& kv : encode_seal(m)) o[kv.key()] = std::move(kv.value());
    }
    void operator()(heads_msg const& m) const {
        o["type"] = "heads";
        o["heads"] = encode_heads(m.heads);
        o["answer"] = m.answer;
        if (m.ack) o["ack"] = true;  // absent otherwise: sync frames keep their shape
    }
    void operator()(history_msg const& m) const {
        o["type"] = "history";
        json::array messages;
        messages.reserve(m.messages.size());
        for (auto const& c : m.messages) messages.emplace_back(encode_chat(c));
        o["messages"] = std::move(messages);
        o["seals"] = encode_seals(m.seals);
        o["anchors"] = encode_anchors(m.anchors);
        o["more"] = m.more;
    }
    void operator()(network_key_msg const& m) const {
        o["type"] = "network_key";
        o["key"] = m.key;
    }
    void operator()(ping_msg const& m) const {
        o["type"] = "ping";
        o["seq"] = m.seq;
        encode_gossip(o, m.news);
    }
    void operator()(ack_msg const& m) const {
        o["type"] = "ack";
        o["seq"] = m.seq;
        encode_gossip(o, m.news);
    }
    void operator()(ping_req_msg const& m) const {
        o["type"] = "ping_req";
        o["seq"] = m.seq;
        o["target"] = m.target;
        encode_gossip(o, m.news);
    }
    void operator()(nack_msg const& m) const {
        o["type"] = "nack";
        o["seq"] = m.seq;
    }
    void operator()(unknown_msg const& m) const { o["type"] = m.type; }
};

// ---- decoding ----

using boost::system::result;

// Reads fields off one object, remembering the first problem, so decoders read straight
// through and check once at the end.
class field_reader {
  public:
    explicit field_reader(json::object const& o) : o_(o) {}

    std::string string(std::string_view key) {
        auto const* v = find(key);
        if (!v) return {};
        if (!v->is_string()) return fail(decode_errc::bad_field), std::string();
        return std::string(v->get_string());
    }
    std::uint64_t uint(std::string_view key) {
        auto const* v = find(key);
        if (!v) return 0;
        if (v->is_uint64()) return v->get_uint64();
        if (v->is_int64() && v->get_int64() >= 0) return static_cast<std::uint64_t>(v->get_int64());
        fail(decode_errc::bad_field);
        return 0;
    }
    std::int64_t int64(std::string_view key) {
        auto const* v = find(key);
        if (!v) return 0;
        if (v->is_int64()) return v->get_int64();
        if (v->is_uint64() && v->get_uint64() <= INT64_MAX)
            return static_cast<std::int64_t>(v->get_uint64());
        fail(decode_errc::bad_field);
        return 0;
    }
    bool boolean(std::string_view key) {
        auto const* v = find(key);
        if (!v) return false;
        if (!v->is_bool()) return fail(decode_errc::bad_field), false;
        return v->get_bool();
    }
    // A flag added after the message's first shape: absent means false, so that frames
    // without it (an older node's) still decode.
    bool optional_boolean(std::string_view key) { return o_.contains(key) && boolean(key); }
    json::array const* array(std::string_view key) {
        auto const* v = find(key);
        if (!v) return nullptr;
        if (!v->is_array()) return fail(decode_errc::bad_field), nullptr;
        return &v->get_array();
    }
    // A list added after the message's first shape: absent means empty.
    json::array const* optional_array(std::string_view key) {
        return o_.contains(key) ? array(key) : nullptr;
    }
    json::object const* object(std::string_view key) {
        auto const* v = find(key);
        if (!v) return nullptr;
        if (!v->is_object()) return fail(decode_errc::bad_field), nullptr;
        return &v->get_object();
    }
    void check(bool ok) {
        if (!ok) fail(decode_errc::bad_field);
    }
    void fail(decode_errc e) {
        if (failed_) return;
        failed_ = true;
        error_ = e;
    }
    std::optional<decode_errc> error() const {
        return failed_ ? std::optional<decode_errc>(error_) : std::nullopt;
    }

  private:
    json::value const* find(std::string_view key) {
        auto const* v = o_.if_contains(key);
        if (!v) fail(decode_errc::missing_field);
        return v;
    }

    json::object const& o_;
    // Not an optional: GCC 12 -O2 reports it "maybe uninitialized" (-Wmaybe-uninitialized).
    decode_errc error_{};
    bool failed_ = false;
};

peer_entry read_entry(json::object const* o, field_reader& outer) {
    if (!o) return {};
    field_reader r(*o);
    peer_entry e;
    e.id = r.string("id");
    e.name = r.string("name");
    e.addr = r.string("addr");
    e.inc = r.uint("inc");
    auto const state = r.string("state");
    r.check(state == "alive" || state == "left");
    e.state = state == "left" ? peer_state::left : peer_state::alive;
    e.sig = r.string("sig");
    if (!r.error()) {
        auto const addr = parse_address(e.addr);
        // Port 0 means "pick one" only to our own --listen, and 0.0.0.0 "every interface":
        // nobody can dial either; a node advertises an address others can.
        r.check(is_node_id(e.id) && is_valid_name(e.name) && addr && addr->port != 0 &&
                !is_unspecified_host(addr->host) && crypto::is_signature_text(e.sig));
    }
    if (auto err = r.error()) outer.fail(*err);
    return e;
}

chat_msg read_chat(json::object const& o, field_reader& r) {
    chat_msg c;
    c.origin = r.string("origin");
    c.seq = r.uint("seq");
    c.lamport = r.uint("lamport");
    c.time_ms = r.int64("time");
    c.name = r.string("name");
    c.text = r.string("text");
    c.chain = r.string("chain");
    (void)o;
    if (!r.error())
        r.check(is_node_id(c.origin) && c.seq > 0 && is_valid_name(c.name) && !c.text.empty() &&
                c.text.size() <= max_text_bytes && crypto::is_chain_text(c.chain));
    return c;
}

seal_msg read_seal(field_reader& r) {
    seal_msg m{r.string("origin"), r.uint("seq"), r.string("chain"), r.string("sig")};
    if (!r.error())
        r.check(is_node_id(m.origin) && m.seq > 0 && crypto::is_chain_text(m.chain) &&
                crypto::is_signature_text(m.sig));
    return m;
}

chain_anchor read_anchor(field_reader& r) {
    chain_anchor a{r.string("origin"), r.uint("seq"), r.string("chain")};
    if (!r.error()) r.check(is_node_id(a.origin) && a.seq > 0 && crypto::is_chain_text(a.chain));
    return a;
}

// The objects of a welcome's list, each read by `read` into `out`.
template <class T, class Read>
void read_objects(json::array const* list, field_reader& r, std::vector<T>& out, Read read) {
    if (!list) return;
    out.reserve(list->size());
    for (auto const& v : *list) {
        if (!v.is_object()) {
            r.fail(decode_errc::bad_field);
            return;
        }
        field_reader item(v.get_object());
        out.push_back(read(v.get_object(), item));
        if (auto err = item.error()) {
            r.fail(*err);
            return;
        }
    }
}

void read_seals_and_anchors(field_reader& r, std::vector<seal_msg>& seals,
                            std::vector<chain_anchor>& anchors) {
    read_objects(r.array("seals"), r, seals,
                 [](json::object const&, field_reader& item) { return read_seal(item); });
    read_objects(r.array("anchors"), r, anchors,
                 [](json::object const&, field_reader& item) { return read_anchor(item); });
}

void read_heads(json::array const* list, field_reader& r, std::vector<origin_head>& out) {
    read_objects(list, r, out, [](json::object const&, field_reader& item) {
        origin_head head{item.string("origin"), item.uint("seq")};
        if (!item.error()) item.check(is_node_id(head.origin));
        return head;
    });
}

std::vector<peer_entry> read_entries(json::array const* a, field_reader& r) {
    std::vector<peer_entry> out;
    if (!a) return out;
    out.reserve(a->size());
    for (auto const& v : *a) {
        if (!v.is_object()) {
            r.fail(decode_errc::bad_field);
            break;
        }
        out.push_back(read_entry(&v.get_object(), r));
    }
    return out;
}

suspicion read_suspicion(field_reader& r) {
    suspicion s{r.string("id"), r.uint("inc"), r.string("from")};
    if (!r.error()) r.check(is_node_id(s.id) && is_node_id(s.from));
    return s;
}

gossip read_gossip(field_reader& r) {
    gossip g;
    g.entries = read_entries(r.array("entries"), r);
    read_objects(r.array("suspects"), r, g.suspects,
                 [](json::object const&, field_reader& item) { return read_suspicion(item); });
    return g;
}

result<message> decode_object(json::object const& o) {
    field_reader r(o);
    auto const version = r.uint("v");
    auto const type = r.string("type");
    if (r.error()) return decode_errc::not_an_object;
    // Version 1 is the first. A newer version is read for the fields this one knows: every
    // change to the protocol so far keeps that working (docs/PROTOCOL.md, "Versions").
    if (version < 1) return decode_errc::unsupported_version;

    message m = unknown_msg{type};
    if (type == "join") {
        m = join_msg{read_entry(r.object("from"), r), r.optional_boolean("reconnect")};
    } else if (type == "hello") {
        m = hello_msg{read_entry(r.object("from"), r)};
    } else if (type == "welcome") {
        welcome_msg w;
        w.from = read_entry(r.object("from"), r);
        w.peers = read_entries(r.array("peers"), r);
        read_objects(r.array("history"), r, w.history,
                     [](json::object const& o, field_reader& item) { return read_chat(o, item); });
        read_seals_and_anchors(r, w.seals, w.anchors);
        read_heads(r.optional_array("heads"), r, w.heads);
        m = std::move(w);
    } else if (type == "refused") {
        m = refused_msg{r.string("code"), r.string("reason")};
    } else if (type == "peers") {
        peers_msg p;
        p.peers = read_entries(r.array("peers"), r);
        p.full = r.boolean("full");
        m = std::move(p);
    } else if (type == "digest") {
        m = digest_msg{r.string("hash"), r.uint("count")};
    } else if (type == "chat") {
        m = read_chat(o, r);
    } else if (type == "rename") {
        rename_msg rn{r.string("id"), r.string("name"), r.uint("inc"), r.string("sig")};
        if (!r.error())
            r.check(is_node_id(rn.id) && is_valid_name(rn.name) &&
                    crypto::is_signature_text(rn.sig));
        m = std::move(rn);
    } else if (type == "seal") {
        m = read_seal(r);
    } else if (type == "heads") {
        heads_msg h;
        read_heads(r.array("heads"), r, h.heads);
        h.answer = r.boolean("answer");
        h.ack = r.optional_boolean("ack");
        m = std::move(h);
    } else if (type == "history") {
        history_msg h;
        read_objects(r.array("messages"), r, h.messages,
                     [](json::object const& o, field_reader& item) { return read_chat(o, item); });
        read_seals_and_anchors(r, h.seals, h.anchors);
        h.more = r.boolean("more");
        m = std::move(h);
    } else if (type == "network_key") {
        network_key_msg k{r.string("key")};
        if (!r.error()) r.check(parse_network_key(k.key).has_value());
        m = std::move(k);
    } else if (type == "ping") {
        auto const seq = r.uint("seq");
        m = ping_msg{seq, read_gossip(r)};
    } else if (type == "ack") {
        auto const seq = r.uint("seq");
        m = ack_msg{seq, read_gossip(r)};
    } else if (type == "ping_req") {
        ping_req_msg p;
        p.seq = r.uint("seq");
        p.target = r.string("target");
        p.news = read_gossip(r);
        if (!r.error()) r.check(is_node_id(p.target));
        m = std::move(p);
    } else if (type == "nack") {
        m = nack_msg{r.uint("seq")};
    } else if (type == "leave") {
        leave_msg l{r.string("id"), r.uint("inc"), r.string("sig")};
        if (!r.error()) r.check(is_node_id(l.id) && crypto::is_signature_text(l.sig));
        m = std::move(l);
    }
    if (auto err = r.error()) return *err;
    return m;
}

}  // namespace

boost::system::error_category const& decode_category() {
    static decode_category_impl const instance;
    return instance;
}

namespace {

// Chat is most of the traffic: written straight into the frame, in the field order the
// generic encoder uses, without building a JSON object first (measured: building and freeing
// the object was a quarter of a sending node's CPU). Ids and chains are hex and base64url by
// construction (decode() checks them), so only name and text need escaping.
std::string encode_chat_frame(chat_msg const& c) {
    std::string out;
    out.reserve(160 + c.origin.size() + c.name.size() + c.text.size() + c.chain.size());
    out += R"({"v":)";
    out += std::to_string(protocol_version);
    out += R"(,"type":"chat","origin":")";
    out += c.origin;
    out += R"(","seq":)";
    out += std::to_string(c.seq);
    out += R"(,"lamport":)";
    out += std::to_string(c.lamport);
    out += R"(,"time":)";
    out += std::to_string(c.time_ms);
    out += R"(,"name":)";
    out += json::serialize(json::string_view(c.name));
    out += R"(,"text":)";
    out += json::serialize(json::string_view(c.text));
    out += R"(,"chain":")";
    out += c.chain;
    out += R"("})";
    return out;
}

}  // namespace

std::string encode(message const& m) {
    if (auto const* chat = std::get_if<chat_msg>(&m)) return encode_chat_frame(*chat);
    json::object o;
    o["v"] = protocol_version;
    std::visit(encoder{o}, m);
    return json::serialize(o);
}

namespace {

// Reads a frame in exactly the layout encode_chat_frame() writes, and nothing else. Every
// method consumes what it reads and returns false at the first byte it does not expect; the
// caller then hands the whole frame to the general decoder.
class canonical_reader {
  public:
    explicit canonical_reader(std::string_view in) : in_(in) {}

    bool literal(std::string_view s) {
        if (!in_.starts_with(s)) return false;
        in_.remove_prefix(s.size());
        return true;
    }
    // A non-negative integer as JSON spells it (no leading zero), at most 19 digits: below
    // 10^19, so it cannot overflow.
    bool number(std::uint64_t& out) {
        std::size_t n = 0;
        out = 0;
        while (n < in_.size() && in_[n] >= '0' && in_[n] <= '9') {
            if (n == 19) return false;
            out = out * 10 + static_cast<std::uint64_t>(in_[n] - '0');
            ++n;
        }
        if (n == 0 || (n > 1 && in_[0] == '0')) return false;
        in_.remove_prefix(n);
        return true;
    }
    // The contents of a string up to its closing quote, when none of it needs unescaping: no
    // backslash and no control character (which JSON requires escaped). UTF-8 is left to the
    // caller.
    bool plain_string(std::string& out) {
        auto const end = in_.find('"');
        if (end == in_.npos) return false;
        // Branch-free, so that the compiler vectorizes it (with a short-circuit `||` it took a
        // byte a step, 40% of decoding a chat message: callgrind).
        unsigned escaped = 0;
        for (char const c : in_.substr(0, end))
            escaped |= unsigned{c == '\\'} | unsigned{static_cast<unsigned char>(c) < 0x20};
        if (escaped != 0) return false;
        out.assign(in_.data(), end);
        in_.remove_prefix(end);
        return true;
    }
    bool at_end() const { return in_.empty(); }

  private:
    std::string_view in_;
};

}  // namespace

// Chat is most of the traffic, and every node writes it in one layout. A frame in exactly
// that layout, with no escapes, is read straight off its bytes: no JSON tree and no field
// lookups (measured: parsing the tree was a third of a receiving node's work per message,
// docs/BENCHMARKS.md). Anything else (another field order, white space, an escape, a
// negative time, any value decode_object() would refuse) returns nothing and goes to the
// general decoder, which reads it or says what is wrong. So the two accept the same frames
// and read them alike; tests/unit/wire and fuzz/wire_decode check it.
std::optional<chat_msg> decode_canonical_chat(std::string_view payload) {
    canonical_reader in(payload);
    chat_msg c;
    std::uint64_t version = 0, time = 0;
    if (!(in.literal(R"({"v":)") && in.number(version) && version >= 1 &&
          in.literal(R"(,"type":"chat","origin":")") && in.plain_string(c.origin) &&
          in.literal(R"(","seq":)") && in.number(c.seq) && in.literal(R"(,"lamport":)") &&
          in.number(c.lamport) && in.literal(R"(,"time":)") && in.number(time) &&
          time <= INT64_MAX && in.literal(R"(,"name":")") && in.plain_string(c.name) &&
          in.literal(R"(","text":")") && in.plain_string(c.text) && in.literal(R"(","chain":")") &&
          in.plain_string(c.chain) && in.literal(R"("})") && in.at_end()))
        return std::nullopt;
    c.time_ms = static_cast<std::int64_t>(time);
    // read_chat()'s checks, and the UTF-8 that the JSON parser checks for the text.
    if (!(is_node_id(c.origin) && c.seq > 0 && is_valid_name(c.name) && !c.text.empty() &&
          c.text.size() <= max_text_bytes && is_valid_utf8(c.text) &&
          crypto::is_chain_text(c.chain)))
        return std::nullopt;
    return c;
}

boost::system::result<message> decode(std::string_view payload) {
    if (auto chat = decode_canonical_chat(payload)) return message(std::move(*chat));
    return decode_any_layout(payload);
}

boost::system::result<message> decode_any_layout(std::string_view payload) {
    boost::system::error_code ec;
    // The parsed tree lives only until the fields are copied into the message: parse into a
    // stack arena instead of one heap allocation per string and object (measured: decoding
    // was a quarter of a receiving node's CPU, most of it malloc/free). Larger frames spill
    // to the heap through the same resource.
    unsigned char arena[4096];
    json::monotonic_resource scratch(arena, sizeof arena);
    // Boost.JSON rejects invalid UTF-8 by default, which is what the protocol requires.
    json::value const v = json::parse(payload, ec, &scratch);
    if (ec) return decode_errc::not_json;
    if (!v.is_object()) return decode_errc::not_an_object;
    return decode_object(v.get_object());
}

std::string_view type_name(message const& m) {
    return std::visit(
        [](auto const& msg) -> std::string_view {
            using T = std::decay_t<decltype(msg)>;
            if constexpr (std::is_same_v<T, join_msg>)
                return "join";
            else if constexpr (std::is_same_v<T, welcome_msg>)
                return "welcome";
            else if constexpr (std::is_same_v<T, refused_msg>)
                return "refused";
            else if constexpr (std::is_same_v<T, hello_msg>)
                return "hello";
            else if constexpr (std::is_same_v<T, peers_msg>)
                return "peers";
            else if constexpr (std::is_same_v<T, digest_msg>)
                return "digest";
            else if constexpr (std::is_same_v<T, chat_msg>)
                return "chat";
            else if constexpr (std::is_same_v<T, rename_msg>)
                return "rename";
            else if constexpr (std::is_same_v<T, leave_msg>)
                return "leave";
            else if constexpr (std::is_same_v<T, network_key_msg>)
                return "network_key";
            else if constexpr (std::is_same_v<T, seal_msg>)
                return "seal";
            else if constexpr (std::is_same_v<T, heads_msg>)
                return "heads";
            else if constexpr (std::is_same_v<T, history_msg>)
                return "history";
            else if constexpr (std::is_same_v<T, ping_msg>)
                return "ping";
            else if constexpr (std::is_same_v<T, ack_msg>)
                return "ack";
            else if constexpr (std::is_same_v<T, ping_req_msg>)
                return "ping_req";
            else if constexpr (std::is_same_v<T, nack_msg>)
                return "nack";
            else
                return "unknown";
        },
        m);
}

bool is_node_id(std::string_view s) {
    if (s.size() != 64) return false;
    for (char c : s)
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
    return true;
}

}  // namespace p2pchat::wire
